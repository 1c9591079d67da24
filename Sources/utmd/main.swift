import Glibc
import UTMSystem

/// The daemon's entry point. The live inline path (NFQUEUE sources, zones, the control socket,
/// systemd notification) is not built yet; until it is, utmd refuses to start rather than
/// pretend to protect a network. Replay mode (`utmctl replay`) runs the same engine today.
writeStandardError("utmd: the live inline path (NFQUEUE) is not built yet; use `utmctl replay CAPTURE` to run the engine")
exit(2)
