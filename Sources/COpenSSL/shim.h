/* The one-shot digest structs (MD5_CTX, SHA_CTX, SHA256_CTX) are deprecated in OpenSSL 3 but
 * are the only digest API whose state lives in caller-owned memory: EVP_DigestInit_ex re-creates
 * its provider context on every init (one malloc per digest per file). UTMCrypto's
 * StreamingDigest uses them so scanning a file allocates nothing. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/err.h>
