/// Placeholder: filled by the HTTP work (gzip/deflate body decoding over zlib).
public enum InflatePlaceholder {}
