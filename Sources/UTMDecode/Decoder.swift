import UTMCore
/// Placeholder: filled by the decode work.
public enum DecodePlaceholder {}
