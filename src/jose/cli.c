/* `amtsweg keys`: key pairs for a destination (or the platform's SET key)
 * as JWK files. Private files are created 0600 with O_EXCL, never
 * overwritten, and fsynced before we report success. */
#include "jose/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "jose/jwk.h"

#define KEY_BITS 4096

static const char *const FILES[4] = {"enc.private.jwk", "enc.public.jwk", "sig.private.jwk",
                                     "sig.public.jwk"};

static void usage(FILE *f) {
    fputs("usage: amtsweg keys new [--kid ID] --out DIR\n"
          "       amtsweg keys check (--enc | --sig) FILE...\n"
          "\n"
          "new    creates two RSA-4096 key pairs as FIT-Connect JWK files in DIR:\n"
          "         enc.private.jwk / enc.public.jwk  RSA-OAEP-256 (decrypt / encrypt)\n"
          "         sig.private.jwk / sig.public.jwk  PS512 (sign / verify)\n"
          "       private files get mode 0600; existing files are never overwritten.\n"
          "       --kid ID  key ids become ID-enc and ID-sig (ID: 4..60 characters);\n"
          "                 without it each kid is the key's RFC 7638 thumbprint.\n"
          "       Prints the public keys as a JWK set on stdout.\n"
          "check  checks JWK files against FIT-Connect's key rules (4096 bit, e=AQAB,\n"
          "       alg, key_ops, kid length, x5c) and names every violated rule.\n",
          f);
}

static int write_file(const char *dir, const char *name, const aw_buf_t *b, mode_t mode) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "amtsweg keys: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(fd, b->data + off, b->len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    bool ok = off == b->len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (close(fd) != 0) ok = false;
    if (!ok) {
        fprintf(stderr, "amtsweg keys: %s: write failed: %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

static int cmd_new(int argc, char **argv) {
    const char *kid = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--kid") == 0 && i + 1 < argc) {
            kid = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else {
            fprintf(stderr, "amtsweg keys new: unknown or incomplete option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!out) {
        fputs("amtsweg keys new: --out DIR is required\n\n", stderr);
        usage(stderr);
        return 2;
    }
    if (kid) {
        size_t n = strlen(kid);
        bool ok = n >= 4 && n <= 60;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)kid[i] < 0x21 || (unsigned char)kid[i] > 0x7e) ok = false;
        if (!ok) {
            fputs("amtsweg keys new: --kid must be 4 to 60 printable characters without spaces "
                  "(the kids become ID-enc and ID-sig, 8 to 64 characters)\n",
                  stderr);
            return 2;
        }
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "amtsweg keys new: %s: %s\n", out, strerror(errno));
        return 1;
    }
    for (int i = 0; i < 4; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", out, FILES[i]);
        if (lstat(path, &st) == 0) {
            fprintf(stderr, "amtsweg keys new: %s exists; refusing to overwrite keys\n", path);
            return 1;
        }
    }
    aw_err_t err;
    aw_jwk_t *keys[2] = {0}, *pubs[2] = {0};
    int status = 1;
    json_t *set = json_pack("{s[]}", "keys");
    for (int i = 0; i < 2; i++) {
        char kidbuf[80];
        if (kid) snprintf(kidbuf, sizeof kidbuf, "%s-%s", kid, i == 0 ? "enc" : "sig");
        if (aw_jwk_generate(KEY_BITS, i == 0 ? AW_JWK_ENC : AW_JWK_SIG, kid ? kidbuf : NULL,
                            &keys[i], &err) != 0 ||
            aw_jwk_public(keys[i], &pubs[i], &err) != 0) {
            fprintf(stderr, "amtsweg keys new: %s\n", err.msg);
            goto done;
        }
    }
    int written = 0;
    for (int i = 0; i < 2; i++) {
        aw_buf_t priv = AW_BUF_INIT, pub = AW_BUF_INIT;
        int rc = aw_jwk_write(keys[i], true, &priv, &err);
        if (rc == 0) rc = aw_jwk_write(pubs[i], false, &pub, &err);
        if (rc != 0) fprintf(stderr, "amtsweg keys new: %s\n", err.msg);
        if (rc == 0 && (rc = write_file(out, FILES[2 * i], &priv, 0600)) == 0) written++;
        if (rc == 0 && (rc = write_file(out, FILES[2 * i + 1], &pub, 0644)) == 0) written++;
        aw_buf_wipe_free(&priv);
        aw_buf_free(&pub);
        if (rc != 0) {
            /* All four or none: remove what this run created. */
            for (int j = 0; j < written; j++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", out, FILES[j]);
                unlink(path);
            }
            goto done;
        }
        json_array_append_new(json_object_get(set, "keys"), aw_jwk_to_json(pubs[i], false));
    }
    char *s = json_dumps(set, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    fprintf(stderr, "amtsweg keys new: wrote %s/{%s,%s,%s,%s}\n", out, FILES[0], FILES[1], FILES[2],
            FILES[3]);
    status = 0;
done:
    json_decref(set);
    for (int i = 0; i < 2; i++) {
        aw_jwk_free(keys[i]);
        aw_jwk_free(pubs[i]);
    }
    return status;
}

static int cmd_check(int argc, char **argv) {
    int purpose = 0, status = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--enc") == 0) {
            purpose = AW_JWK_ENC;
        } else if (strcmp(argv[i], "--sig") == 0) {
            purpose = AW_JWK_SIG;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "amtsweg keys check: unknown option '%s'\n", argv[i]);
            return 2;
        } else {
            files++;
            if (!purpose) {
                fputs("amtsweg keys check: give --enc or --sig before the files\n", stderr);
                return 2;
            }
            aw_err_t err;
            aw_jwk_t *k = NULL;
            if (aw_jwk_load_file(argv[i], &k, &err) != 0 ||
                aw_jwk_check_fitconnect(k, (aw_jwk_purpose_t)purpose, NULL, &err) != 0) {
                fprintf(stderr, "%s: %s\n", argv[i], err.msg);
                aw_jwk_free(k);
                status = 1;
                continue;
            }
            printf("%s: ok (kid %s, %s)\n", argv[i], aw_jwk_kid(k),
                   aw_jwk_is_private(k) ? "private" : "public");
            aw_jwk_free(k);
        }
    }
    if (!files) {
        fputs("amtsweg keys check: no files given\n", stderr);
        return 2;
    }
    return status;
}

int aw_jose_cli_keys(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "new") == 0) return cmd_new(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0) return cmd_check(argc - 1, argv + 1);
    fprintf(stderr, "amtsweg keys: unknown subcommand '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
