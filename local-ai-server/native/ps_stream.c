/*
 * ps_stream: streaming speech recognition with libpocketsphinx for the local AI server.
 *
 * Why a helper process: libpocketsphinx is a C library with blocking calls; a child process keeps decoding
 * off Node's event loop, isolates crashes to one call, and needs no node-gyp build (plain gcc, ~1 s).
 *
 * stdin carries frames: 1 byte kind, 4 bytes little-endian payload length, payload.
 *   'a' audio: 16 kHz signed 16-bit little-endian mono
 *   'g' grammar: a JSGF document; later utterances are decoded with it
 *   'l' language model: later utterances use the n-gram model again
 *   'f' flush: end the current utterance now (final), then report {"t":"flushed"}
 *   'r' reset: between streams of a reused process, back to the state it loaded with (cepstral mean, noise
 *       generator), so a stream decodes the same whichever streams the process served before
 * End of stdin flushes and exits.
 * stdout carries one JSON object per line: ready, start, partial, final (with the mode it was decoded in),
 * flushed, error.
 *
 * Options (before the pocketsphinx ones): -fill N adds uniform noise in [-N, N] (narrowband input leaves the
 * 4-8 kHz filters empty, which breaks the cepstra); -gain G scales samples; -partial_ms M reports a partial
 * every M ms of speech audio.
 */
#include <pocketsphinx.h>
#include <feat.h>
#include <cmn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#define MAX_FRAME (1 << 20)

static void emit_escaped(const char *text);

static void emit_text(const char *type, const char *text)
{
    fputs("{\"t\":\"", stdout);
    fputs(type, stdout);
    fputs("\",\"text\":\"", stdout);
    emit_escaped(text);
}

static void emit_final(const char *text, int grammar)
{
    printf("{\"t\":\"final\",\"grammar\":%s,\"text\":\"", grammar ? "true" : "false");
    emit_escaped(text);
}

static void emit_escaped(const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        if (*p == '"' || *p == '\\') fputc('\\', stdout);
        if ((unsigned char)*p >= 0x20) fputc(*p, stdout);
    }
    fputs("\"}\n", stdout);
    fflush(stdout);
}

static void emit(const char *type)
{
    printf("{\"t\":\"%s\"}\n", type);
    fflush(stdout);
}

static int read_full(void *buf, size_t n)
{
    return fread(buf, 1, n, stdin) == n;
}

int main(int argc, char *argv[])
{
    int fill = 0, partial_ms = 200, argi = 1;
    double gain = 1.0;
    while (argi + 1 < argc) {
        if (strcmp(argv[argi], "-fill") == 0) fill = atoi(argv[argi + 1]);
        else if (strcmp(argv[argi], "-gain") == 0) gain = atof(argv[argi + 1]);
        else if (strcmp(argv[argi], "-partial_ms") == 0) partial_ms = atoi(argv[argi + 1]);
        else break;
        argi += 2;
    }
    argv[argi - 1] = argv[0];
    cmd_ln_t *config = cmd_ln_parse_r(NULL, ps_args(), argc - argi + 1, argv + argi - 1, TRUE);
    if (config == NULL) {
        emit_text("error", "bad decoder options");
        return 2;
    }
    ps_decoder_t *ps = ps_init(config);
    if (ps == NULL) {
        emit_text("error", "decoder failed to load its model");
        return 3;
    }
    char lm_search[64];
    snprintf(lm_search, sizeof lm_search, "%s", ps_get_search(ps));

    int16_t *buf = malloc(MAX_FRAME);
    char *text = malloc(MAX_FRAME + 1);
    uint32_t lcg = 12345u;
    feat_t *feat = ps_get_feat(ps);
    mfcc_t *cmn_at_load = malloc(sizeof(mfcc_t) * feat->cmn_struct->veclen);
    cmn_live_get(feat->cmn_struct, cmn_at_load);
    int in_utt = 0, grammar_on = 0, want_grammar = 0, want_lm = 0, since_partial = 0;
    const int partial_samples = partial_ms * 16;
    char last_partial[4096] = "";

    ps_start_utt(ps);
    emit("ready");

    for (;;) {
        unsigned char hdr[5];
        if (!read_full(hdr, 5)) break;
        uint32_t len = hdr[1] | (hdr[2] << 8) | (hdr[3] << 16) | ((uint32_t)hdr[4] << 24);
        if (len > MAX_FRAME) {
            emit_text("error", "frame too large");
            break;
        }
        char kind = (char)hdr[0];
        void *dst = kind == 'a' ? (void *)buf : (void *)text;
        if (len && !read_full(dst, len)) break;

        int finish = 0;
        if (kind == 'a') {
            size_t n = len / 2;
            for (size_t i = 0; i < n; i++) {
                double v = buf[i] * gain;
                if (fill) {
                    lcg = lcg * 1664525u + 1013904223u;
                    v += (double)(lcg >> 16) / 65535.0 * (2 * fill) - fill;
                }
                buf[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
            }
            ps_process_raw(ps, buf, n, FALSE, FALSE);
            int in_speech = ps_get_in_speech(ps);
            if (in_speech && !in_utt) {
                in_utt = 1;
                since_partial = 0;
                last_partial[0] = 0;
                emit("start");
            }
            if (in_utt && !in_speech) finish = 1;
            else if (in_utt && partial_samples > 0 && (since_partial += n) >= partial_samples) {
                since_partial = 0;
                const char *hyp = ps_get_hyp(ps, NULL);
                if (hyp && *hyp && strncmp(hyp, last_partial, sizeof last_partial - 1) != 0) {
                    snprintf(last_partial, sizeof last_partial, "%s", hyp);
                    emit_text("partial", hyp);
                }
            }
        } else if (kind == 'g') {
            text[len] = 0;
            if (ps_set_jsgf_string(ps, "grammar", text) < 0) emit_text("error", "grammar rejected");
            else want_grammar = 1, want_lm = 0;
        } else if (kind == 'l') {
            want_lm = 1, want_grammar = 0;
        } else if (kind == 'f') {
            finish = -1;
        } else if (kind == 'r') {
            /* A new stream also resets the front end's noise level and voice activity state. */
            ps_end_utt(ps);
            ps_start_stream(ps);
            cmn_live_set(feat->cmn_struct, cmn_at_load);
            lcg = 12345u;
            in_utt = 0;
            ps_start_utt(ps);
        } else {
            emit_text("error", "unknown frame kind");
        }

        if (finish || ((want_grammar || want_lm) && !in_utt)) {
            ps_end_utt(ps);
            if (in_utt) emit_final(ps_get_hyp(ps, NULL), grammar_on);
            in_utt = 0;
            if (want_grammar) ps_set_search(ps, "grammar"), grammar_on = 1;
            if (want_lm) ps_set_search(ps, lm_search), grammar_on = 0;
            want_grammar = want_lm = 0;
            ps_start_utt(ps);
            if (finish < 0) emit("flushed");
        }
    }
    ps_end_utt(ps);
    if (in_utt) emit_final(ps_get_hyp(ps, NULL), grammar_on);
    emit("flushed");
    ps_free(ps);
    cmd_ln_free_r(config);
    free(buf);
    free(text);
    free(cmn_at_load);
    return 0;
}
