/* Throwaway certificates for TLS tests, made in memory: a CA (P-256, self-signed) and leaf
 * certificates it signs with chosen subjectAltNames, as PEM strings. Shared by check_tls_session,
 * check_http_client and fuzz_tls_record. */
#ifndef CROWCAST_TESTS_TLS_FIXTURE_H
#define CROWCAST_TESTS_TLS_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "crowcast/tls_session.h"

struct tls_fixture_pem {
    char *cert, *key; /* malloc'd, NUL-terminated */
    size_t cert_len, key_len;
};

static char *tls_fixture_text(BIO *b, size_t *len)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
    BIO_free(b);
    return out;
}

static void tls_fixture_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A certificate for cn with san ("IP:127.0.0.1,DNS:x" or NULL for a CA), signed by ca/ca_key (NULL:
 * self-signed). *key_out receives its key (the caller frees it); out gets both in PEM. */
static X509 *tls_fixture_cert(const char *cn, const char *san, X509 *ca, EVP_PKEY *ca_key, EVP_PKEY **key_out,
                              struct tls_fixture_pem *out)
{
    static long serial = 1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name);
    if (san)
        tls_fixture_ext(x, ca, NID_subject_alt_name, san);
    else {
        tls_fixture_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        tls_fixture_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    X509_sign(x, ca_key ? ca_key : key, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    out->cert = tls_fixture_text(b, &out->cert_len);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    out->key = tls_fixture_text(b, &out->key_len);
    *key_out = key;
    return x;
}

/* The set most tests use: ca signs server (IP:127.0.0.1, DNS:tracker.test); other_ca is unrelated. */
struct tls_fixture {
    struct tls_fixture_pem ca, server, other_ca;
};

static void tls_fixture_make(struct tls_fixture *f)
{
    EVP_PKEY *ca_key, *leaf_key, *other_key;
    X509 *ca = tls_fixture_cert("crowcast test CA", NULL, NULL, NULL, &ca_key, &f->ca);
    X509 *leaf =
        tls_fixture_cert("tracker", "IP:127.0.0.1,DNS:tracker.test", ca, ca_key, &leaf_key, &f->server);
    X509 *other = tls_fixture_cert("another CA", NULL, NULL, NULL, &other_key, &f->other_ca);
    X509_free(ca);
    X509_free(leaf);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    EVP_PKEY_free(other_key);
}

static void tls_fixture_free(struct tls_fixture *f)
{
    struct tls_fixture_pem *all[] = {&f->ca, &f->server, &f->other_ca};
    for (size_t i = 0; i < 3; i++) {
        free(all[i]->cert);
        free(all[i]->key);
    }
}

/* Contexts over the set: a server with the certificate, a client trusting ca, one trusting other_ca.
 * Returns 0, or the first error (the fixture is then of no use). */
struct tls_fixture_ctx {
    crow_tls_session_ctx_t *server, *client, *stranger;
};

static int tls_fixture_contexts(const struct tls_fixture *f, struct tls_fixture_ctx *x)
{
    char why[160];
    int ret = crow_tls_session_ctx_new_server(&x->server, f->server.cert, f->server.cert_len, f->server.key,
                                              f->server.key_len, why, sizeof why);
    if (!ret)
        ret = crow_tls_session_ctx_new_client(&x->client, f->ca.cert, f->ca.cert_len, why, sizeof why);
    if (!ret)
        ret = crow_tls_session_ctx_new_client(&x->stranger, f->other_ca.cert, f->other_ca.cert_len, why,
                                              sizeof why);
    return ret;
}

static inline void tls_fixture_contexts_free(struct tls_fixture_ctx *x)
{
    crow_tls_session_ctx_free(x->server);
    crow_tls_session_ctx_free(x->client);
    crow_tls_session_ctx_free(x->stranger);
}

#endif
