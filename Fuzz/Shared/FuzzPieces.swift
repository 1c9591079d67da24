// Compiled into the stream-parser fuzz targets that read their input as pieces (FuzzPgSQL,
// FuzzSMB, FuzzSSH, FuzzFTP; tools/fuzz.sh extra_sources). Not a target itself: it has no
// LLVMFuzzerTestOneInput.
import UTMCore

/// Splits a fuzz input into pieces of one stream, each led by a control byte: bits 0-5 the
/// length in units of `unit` bytes + 1, bit 6 from the server, bit 7 a gap before it. Why one
/// copy: the stream parsers' targets (and `Fuzz/seeds.py`'s `pieces`) share this format, so
/// the fuzzer's mutations mean the same thing in each. The last piece may be shorter.
func forEachPiece(_ data: UnsafePointer<UInt8>, _ size: Int, unit: Int,
                  _ body: (_ piece: ByteView, _ direction: Direction, _ gap: Bool) -> Void) {
    var rest = ByteView(unsafeStart: UnsafeRawPointer(data), count: size)
    while let control = rest.u8(0) {
        rest = rest.dropFirst(1)
        let n = Int(control & 0x3f) * unit + 1
        let piece = rest.prefix(n)
        rest = rest.dropFirst(n)
        body(piece, control & 0x40 != 0 ? .toClient : .toServer, control & 0x80 != 0)
    }
}
