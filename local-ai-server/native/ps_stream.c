/*
 * ps_stream: streaming speech recognition with libpocketsphinx for the local AI server.
 *
 * Why a helper process: libpocketsphinx is a C library with blocking calls; a child process keeps decoding
 * off Node's event loop, isolates crashes to one call, and needs no node-gyp build (plain gcc, ~1 s).
 * One process serves many recognition streams one after another (loading the model costs ~0.25 s of CPU);
 * the 'n' command separates them.
 *
 * stdin carries frames: 1 byte kind, 4 bytes little-endian payload length, payload.
 *   'a' audio: 16 kHz signed 16-bit little-endian mono (an odd trailing byte is ignored)
 *   'g' grammar: a JSGF document; later utterances are decoded with it
 *   'l' language model: later utterances use the n-gram model again
 *   'f' flush: end the current utterance now (final), then report {"t":"flushed"}
 *   'n' next stream: end the current utterance (final), then return to the state after start-up: n-gram
 *       model, front-end noise estimate and cepstral mean back to their initial values, noise generator
 *       reseeded; report {"t":"idle"}
 * An unknown kind is reported as an error and its payload skipped. A payload over 1 MiB cannot be skipped
 * safely (the stream may be garbage): the helper reports an error and exits. End of stdin flushes and exits.
 * stdout carries one JSON object per line: ready, start, partial, final (with the mode it was decoded in),
 * flushed, idle, error.
 *
 * Options (among the pocketsphinx ones): -fill N adds uniform noise in [-N, N] (narrowband input leaves the
 * 4-8 kHz filters empty, which breaks the cepstra); -gain G scales samples; -partial_ms M reports a partial
 * every M ms of speech audio; -cmn_weight W makes the initial cepstral mean count as W frames of speech
 * (pocketsphinx: 500) and -cmn_update F re-estimates the live mean every F frames of speech (pocketsphinx:
 * only at the end of an utterance or after 8 s), so the decoder adapts to a caller's channel and level
 * within the first utterance; -extra_dict FILE adds the words of a dictionary file ("word PHONE ...") to the
 * dictionary and the language model. A -cmninit anywhere in the options is applied by the helper after the model
 * has loaded: pocketsphinx itself lets the model's feat.params override it.
 */
#include <pocketsphinx.h>
#include <sphinxbase/feat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#define MAX_FRAME (1 << 20)
#define LCG_SEED 12345u

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

/* Parses "-cmninit c0,c1,..." from argv into vec (veclen values); 0 when absent, -1 when malformed. */
static int parse_cmninit(int argc, char *argv[], mfcc_t *vec, int veclen)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-cmninit") != 0) continue;
        const char *p = argv[i + 1];
        for (int k = 0; k < veclen; k++) {
            char *end;
            double v = strtod(p, &end);
            if (end == p || (k + 1 < veclen ? *end != ',' : *end != 0)) return -1;
            vec[k] = FLOAT2MFCC(v);
            p = end + 1;
        }
        return 1;
    }
    return 0;
}

/* Restores the stream-start cepstral mean, weighted as `weight` frames of speech. */
static void cmn_restart(cmn_t *cmn, const mfcc_t *start, int weight)
{
    cmn_live_set(cmn, start);
    for (int i = 0; i < cmn->veclen; i++) cmn->sum[i] = start[i] * weight;
    cmn->nframe = weight;
}

/* Adds each "word PHONE ..." line of file to the decoder; -1 when the file cannot be read or a line fails. */
static int add_words(ps_decoder_t *ps, const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) return -1;
    char line[1024];
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *phones = strchr(line, ' ');
        if (phones == NULL) continue;
        *phones++ = 0;
        if (ps_add_word(ps, line, phones, TRUE) < 0) rc = -1;
    }
    fclose(f);
    return rc;
}

static int read_full(void *buf, size_t n)
{
    return fread(buf, 1, n, stdin) == n;
}

int main(int argc, char *argv[])
{
    int fill = 0, partial_ms = 200, cmn_weight = CMN_WIN, cmn_update = 0;
    const char *extra_dict = NULL;
    double gain = 1.0;
    /* The helper's own options may stand anywhere; the rest go to pocketsphinx in their order. */
    char **ps_argv = malloc(sizeof(char *) * (argc + 1));
    int ps_argc = 0;
    ps_argv[ps_argc++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v && strcmp(o, "-fill") == 0) fill = atoi(v);
        else if (v && strcmp(o, "-gain") == 0) gain = atof(v);
        else if (v && strcmp(o, "-partial_ms") == 0) partial_ms = atoi(v);
        else if (v && strcmp(o, "-cmn_weight") == 0) cmn_weight = atoi(v);
        else if (v && strcmp(o, "-cmn_update") == 0) cmn_update = atoi(v);
        else if (v && strcmp(o, "-extra_dict") == 0) extra_dict = v;
        else {
            ps_argv[ps_argc++] = argv[i];
            continue;
        }
        i++;
    }
    ps_argv[ps_argc] = NULL;
    cmd_ln_t *config = cmd_ln_parse_r(NULL, ps_args(), ps_argc, ps_argv, TRUE);
    if (config == NULL) {
        emit_text("error", "bad decoder options");
        return 2;
    }
    ps_decoder_t *ps = ps_init(config);
    if (ps == NULL) {
        emit_text("error", "decoder failed to load its model");
        return 3;
    }
    if (extra_dict && add_words(ps, extra_dict) < 0) {
        emit_text("error", "extra dictionary could not be loaded");
        return 3;
    }
    char lm_search[64];
    snprintf(lm_search, sizeof lm_search, "%s", ps_get_search(ps));
    /* Live CMN adapts to each caller's channel; a new stream starts again from the configured -cmninit. */
    cmn_t *cmn = ps_get_feat(ps)->cmn_struct;
    mfcc_t *cmn_start = malloc(sizeof(mfcc_t) * cmn->veclen);
    int have_cmninit = parse_cmninit(argc, argv, cmn_start, cmn->veclen);
    if (have_cmninit < 0) {
        emit_text("error", "bad -cmninit (needs one value per cepstral coefficient)");
        return 2;
    }
    if (!have_cmninit) cmn_live_get(cmn, cmn_start);
    cmn_restart(cmn, cmn_start, cmn_weight);
    int cmn_mark = cmn->nframe;

    int16_t *buf = malloc(MAX_FRAME);
    char *text = malloc(MAX_FRAME + 1);
    uint32_t lcg = LCG_SEED;
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

        int finish = 0, next_stream = 0;
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
            /* pocketsphinx may itself shrink the window (nframe drops): restart the count then. */
            if (cmn->nframe < cmn_mark) cmn_mark = cmn->nframe;
            if (cmn_update > 0 && cmn->nframe - cmn_mark >= cmn_update) {
                cmn_live_update(cmn);
                cmn_mark = cmn->nframe;
            }
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
        } else if (kind == 'n') {
            finish = 1, next_stream = 1, want_lm = 1, want_grammar = 0;
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
            if (next_stream) {
                /* the front end's noise estimate (noise removal, VAD) and the stream clock start afresh */
                ps_start_stream(ps);
                cmn_restart(cmn, cmn_start, cmn_weight);
                lcg = LCG_SEED;
            }
            cmn_mark = cmn->nframe;
            ps_start_utt(ps);
            if (finish < 0) emit("flushed");
            if (next_stream) emit("idle");
        }
    }
    ps_end_utt(ps);
    if (in_utt) emit_final(ps_get_hyp(ps, NULL), grammar_on);
    emit("flushed");
    ps_free(ps);
    cmd_ln_free_r(config);
    free(cmn_start);
    free(ps_argv);
    free(buf);
    free(text);
    return 0;
}
