/*
 * Re-synthesises 16 kHz 16-bit mono raw PCM through LPCNet (Debian's libcodec2): encode each frame to the
 * FreeDV 1733 bit/s split-VQ features, then decode them with the neural vocoder. Same speaker, same words as
 * the input, only the vocoder differs. stdin → stdout. Earmark's own code (detectors/ai-likeness/corpus).
 */
#include <stdio.h>
#include <stdlib.h>
#include <codec2/lpcnet_freedv.h>

int main(void) {
    LPCNetFreeDV *lf = lpcnet_freedv_create(LPCNET_DIRECT_SPLIT);
    if (!lf) { fprintf(stderr, "lpcnet_freedv_create failed\n"); return 1; }
    int n = lpcnet_samples_per_frame(lf);
    int bits = lpcnet_bits_per_frame(lf);
    short *in = calloc(n, sizeof(short)), *out = calloc(n, sizeof(short));
    char *frame = calloc(bits, 1);
    size_t got;
    while ((got = fread(in, sizeof(short), n, stdin)) > 0) {
        for (size_t i = got; i < (size_t)n; i++) in[i] = 0;
        lpcnet_enc(lf, in, frame);
        lpcnet_dec(lf, frame, out);
        fwrite(out, sizeof(short), n, stdout);
    }
    lpcnet_freedv_destroy(lf);
    free(in); free(out); free(frame);
    return 0;
}
