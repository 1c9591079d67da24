/// The registration table of the buffer transforms (one file per keyword in this folder);
/// `KeywordRegistry` adds every entry. A transform follows a sticky buffer and applies, in
/// rule order, to that buffer before its content/pcre/isdataat (see `SignatureBuilder.addTransform`).
enum DetectTransforms {
    static let keywords: [(String, KeywordParser)] = [
        ("dotprefix", DetectTransformDotPrefix.keyword),
        ("to_lowercase", DetectTransformToLowercase.keyword),
        ("to_uppercase", DetectTransformToUppercase.keyword),
        ("strip_whitespace", DetectTransformStripWhitespace.keyword),
        ("compress_whitespace", DetectTransformCompressWhitespace.keyword),
        ("url_decode", DetectTransformURLDecode.keyword),
        ("xor", DetectTransformXor.keyword),
        ("to_md5", DetectTransformHash.md5),
        ("to_sha1", DetectTransformHash.sha1),
        ("to_sha256", DetectTransformHash.sha256),
        ("header_lowercase", DetectTransformHeaderLowercase.keyword),
        ("strip_pseudo_headers", DetectTransformStripPseudoHeaders.keyword),
        ("pcrexform", DetectTransformPCREXform.keyword),
        ("from_base64", DetectTransformFromBase64.keyword),
    ]

    /// Suricata 8 transforms not implemented here: their rules are skipped with this reason
    /// (reported by `utmctl rules check`) rather than as unknown keywords.
    static let unsupported: [(String, String)] = [
        ("luaxform", "no Lua"),
        ("gunzip", "decompressing transforms are not implemented"),
        ("zlib_deflate", "decompressing transforms are not implemented"),
        ("domain", "the domain/tld transforms need a public suffix list"),
        ("tld", "the domain/tld transforms need a public suffix list"),
    ]
}
