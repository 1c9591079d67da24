import CPcap
import UTMCore
import UTMDecode

/// A capture file read through libpcap (classic pcap and pcapng).
///
/// Why libpcap rather than our own reader: it is the reference for the formats, handles
/// pcapng blocks, byte orders and nanosecond files, and is on every box anyway. We only lend
/// its buffer to the engine, never copy it.
public final class PcapFileSource {
    public let path: String
    /// The file's link type as pcap numbers it (LINKTYPE_*/DLT_*): the decoder knows more of
    /// them than `LinkType` names (PPP, Cisco HDLC, PPI).
    public let rawLinkType: UInt32
    private var handle: OpaquePointer?

    public init(path: String) throws {
        self.path = path
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_open_offline_with_tstamp_precision(
            path, UInt32(PCAP_TSTAMP_PRECISION_MICRO), &errbuf) else {
            let message = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                 as: UTF8.self)
            throw CaptureError(.unreadable, path: path, detail: "cannot read capture: \(message)")
        }
        let dlt = pcap_datalink(h)
        guard dlt >= 0, Decoder.supports(rawLinkType: UInt32(dlt)) else {
            pcap_close(h)
            throw CaptureError(.unsupportedLinkType, path: path,
                               detail: "unsupported link type \(dlt)")
        }
        handle = h
        rawLinkType = UInt32(dlt)
    }

    deinit {
        if let handle { pcap_close(handle) }
    }

    /// Calls `body` for every frame in file order with the captured bytes, the capture time
    /// and the original length on the wire. The bytes are valid only during the call.
    /// Returns the number of frames; throws when the file is cut short or unreadable part way,
    /// after delivering every frame before the damage.
    @discardableResult
    public func forEachFrame(_ body: (ByteView, Timestamp, Int) throws -> Void) throws -> Int {
        guard let handle else { return 0 }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var frames = 0
        while true {
            let rc = pcap_next_ex(handle, &header, &data)
            if rc == 1, let header, let data {
                let h = header.pointee
                let ts = Timestamp(seconds: Int64(h.ts.tv_sec), micros: Int32(truncatingIfNeeded: h.ts.tv_usec))
                try body(ByteView(unsafeStart: data, count: Int(h.caplen)), ts, Int(h.len))
                frames += 1
                continue
            }
            if rc == PCAP_ERROR_BREAK { return frames } // -2: end of file
            let message = String(cString: pcap_geterr(handle))
            let code: CaptureError.Code = message.contains("truncated") ? .truncated : .readFailed
            throw CaptureError(code, path: path, detail: "after \(frames) packets: \(message)")
        }
    }
}
