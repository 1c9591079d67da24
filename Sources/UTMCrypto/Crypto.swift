/// Placeholder: filled by the crypto work (QUIC Initial keys, hashes).
public enum Crypto {}
