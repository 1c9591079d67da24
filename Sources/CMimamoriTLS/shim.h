// The TLS shim of the control plane: Debian's libssl (OpenSSL 3), plus what Swift cannot call
// directly (macros) and the few multi-step OpenSSL idioms the cloud link needs, each in one
// small function. Only UTMCloudClient's TLS.swift imports this; the packet path never does.
#ifndef CMIMAMORI_TLS_H
#define CMIMAMORI_TLS_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <arpa/inet.h>

/// A context that trusts only the CA file given (no system store: the cloud's CA is pinned),
/// TLS 1.2 at least. `server` picks the method. NULL on failure.
static inline SSL_CTX *mtls_ctx_new(int server, const char *ca_file) {
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
    if (ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/// Our own certificate and key (PEM files); 1 when both load and match.
static inline int mtls_ctx_use_identity(SSL_CTX *ctx, const char *cert, const char *key) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) return 0;
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) return 0;
    return SSL_CTX_check_private_key(ctx);
}

/// Client: the server must present a certificate from the pinned CA.
/// Server: ask for a client certificate; `require` refuses connections without one.
static inline void mtls_ctx_verify_peer(SSL_CTX *ctx, int require) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
}

/// The name the server certificate must carry: an IP address (checked against its IP SANs) or
/// a host name (DNS SANs, and sent as SNI). 1 on success.
static inline int mtls_set_peer_name(SSL *ssl, const char *host) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1) {
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    }
    if (SSL_set_tlsext_host_name(ssl, host) != 1) return 0;
    return SSL_set1_host(ssl, host);
}

/// The verified peer certificate's subject common name into buf (NUL-terminated); its length,
/// or -1 when there is no verified peer certificate.
static inline int mtls_peer_common_name(SSL *ssl, char *buf, int len) {
    if (SSL_get_verify_result(ssl) != X509_V_OK) return -1;
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (!peer) return -1;
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, len);
    X509_free(peer);
    return n;
}

/// Why the last call failed, one line: the certificate check's verdict when that was it,
/// else OpenSSL's queued error (the queue is cleared).
static inline void mtls_last_error(SSL *ssl, char *buf, size_t len) {
    buf[0] = 0;
    if (ssl) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK) {
            snprintf(buf, len, "certificate verify failed: %s", X509_verify_cert_error_string(v));
            ERR_clear_error();
            return;
        }
    }
    unsigned long e = ERR_get_error();
    if (e) ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}
#endif
