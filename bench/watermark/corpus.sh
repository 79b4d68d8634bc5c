#!/usr/bin/env bash
# Builds the watermark evaluation corpus offline from audio in installed Debian packages.
#   bash bench/watermark/corpus.sh [OUT_DIR]     (default /tmp/earmark-wm-corpus)
# Needs: ffmpeg, sox; packages planetblupi-music-ogg, drascula-music, fretsonfire-songs-muldjord,
# hedgewars-data, asterisk-core-sounds-en-wav, fillets-ng-data. Output: 44.1 kHz 16-bit stereo WAVs
# plus MANIFEST.txt (source, licence, sha256). Licences are the packages' own (see /usr/share/doc/*/copyright).
set -euo pipefail
out="${1:-/tmp/earmark-wm-corpus}"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
norm=(-ar 44100 -ac 2 -c:a pcm_s16le)

excerpt() { # src start seconds name
  ffmpeg -v error -y -ss "$2" -t "$3" -i "$1" "${norm[@]}" "$out/$4.wav"
}

excerpt /usr/share/planetblupi/music/music003.ogg 0 180 music-blupi          # planetblupi-music-ogg, GPL-3
excerpt /usr/share/scummvm/drascula/audio/track2.ogg 0 180 music-drascula   # drascula-music, freeware (DFSG: see copyright)
excerpt /usr/share/games/fretsonfire/data/songs/muldjord/chaos_god/song.ogg 0 180 music-fof-rock  # fretsonfire-songs-muldjord, CC-BY-SA
excerpt /usr/share/games/hedgewars/Data/Music/Art.ogg 0 180 music-hedgewars   # hedgewars-data, GPL-2

# Speech with pauses: Asterisk IVR prompts (one professional voice, 8 kHz source), 0.6 s gaps.
list="$tmp/asterisk.txt"
: >"$list"
n=0
for f in $(ls /usr/share/asterisk/sounds/en_US_f_Allison/*.wav | sort | head -120); do
  ffmpeg -v error -y -i "$f" -ar 44100 -ac 2 -c:a pcm_s16le "$tmp/a$n.wav"
  echo "file '$tmp/a$n.wav'" >>"$list"
  echo "file '$tmp/gap.wav'" >>"$list"
  n=$((n + 1))
done
ffmpeg -v error -y -f lavfi -i anullsrc=r=44100:cl=stereo -t 0.6 -c:a pcm_s16le "$tmp/gap.wav"
ffmpeg -v error -y -f concat -safe 0 -i "$list" -t 180 "${norm[@]}" "$out/speech-asterisk.wav"   # CC-BY-SA-3.0

# Game dialogue, several voice actors (22–44 kHz sources), 0.4 s gaps.
list="$tmp/fillets.txt"
: >"$list"
n=0
ffmpeg -v error -y -f lavfi -i anullsrc=r=44100:cl=stereo -t 0.4 -c:a pcm_s16le "$tmp/gap2.wav"
for f in $(dpkg -L fillets-ng-data | grep -E '/sound/[^/]+/en/.*\.ogg$' | sort | head -80); do
  ffmpeg -v error -y -i "$f" -ar 44100 -ac 2 -c:a pcm_s16le "$tmp/f$n.wav"
  echo "file '$tmp/f$n.wav'" >>"$list"
  echo "file '$tmp/gap2.wav'" >>"$list"
  n=$((n + 1))
done
ffmpeg -v error -y -f concat -safe 0 -i "$list" -t 120 "${norm[@]}" "$out/speech-fillets.wav"   # fillets-ng-data, GPL-2

# Sparse, quiet case: plucked notes (piano-like decay) with long silences, at −20 dBFS peaks.
notes=(C4 E4 G4 C5 A3 F4 D4 B3 G3 E5 C4 A4)
parts=()
i=0
for nt in "${notes[@]}" "${notes[@]}" "${notes[@]}"; do
  sox -n -r 44100 -c 2 -b 16 "$tmp/n$i.wav" synth 2.5 pluck "$nt" fade 0 2.5 2.2 gain -20
  sox -n -r 44100 -c 2 -b 16 "$tmp/s$i.wav" trim 0 $(( (i % 3) + 1 )).0
  parts+=("$tmp/n$i.wav" "$tmp/s$i.wav")
  i=$((i + 1))
done
sox "${parts[@]}" "$out/sparse-pluck.wav"

(cd "$out" && for f in *.wav; do
  printf '%s  %s  %ss\n' "$(sha256sum "$f" | cut -c1-16)" "$f" "$(soxi -D "$f")"
done) >"$out/MANIFEST.txt"
cat "$out/MANIFEST.txt"
