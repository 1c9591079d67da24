import UTMCore

/// App-layer anomalies raised while one packet went through an app-layer parser or protocol
/// detection (Suricata's `app-layer-event:` keyword: `http.request_field_missing_colon`,
/// `tls.invalid_record_type`, `dns.malformed_data`, `applayer_mismatch_protocol_both_directions`).
///
/// Bits 0..55 are per protocol: the same bit means different events for HTTP and for TLS, so a
/// rule keeps the protocol with the bit (`lookup`). Bits 56..63 are the generic events of
/// protocol detection, valid on any flow. Bit numbers are stable; append new ones.
public struct AppLayerEvents: OptionSet, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// First bit of the protocol-independent events (`applayer_*`).
    public static let firstGenericBit = 56

    /// Suricata's name of a protocol's event, without the `proto.` prefix; generic events
    /// (bits 56...) under any protocol.
    public static func name(proto: AppProto, bit: Int) -> StaticString? {
        if bit >= firstGenericBit { return genericName(bit) }
        guard bit >= 0, let table = names(proto), bit < table.count else { return nil }
        return table[bit]
    }

    /// The table of a protocol's event names, indexed by bit; nil for a protocol no parser
    /// raises events for.
    public static func names(_ proto: AppProto) -> [StaticString]? {
        switch proto {
        case .http: return HTTP.names
        case .tls: return TLS.names
        case .dns: return DNS.names
        case .http2: return HTTP2.names
        case .ssh: return SSH.names
        case .smtp: return SMTP.names
        default: return nil
        }
    }

    static func genericName(_ bit: Int) -> StaticString? {
        let i = bit &- firstGenericBit
        guard i >= 0, i < Generic.names.count else { return nil }
        return Generic.names[i]
    }

    @inlinable init(bit: Int) { self.init(rawValue: 1 << UInt64(bit)) }

    /// The protocol whose events a Suricata prefix names (`http`, `tls`, `dns`...).
    static func proto(prefix: Substring) -> AppProto? {
        for p in AppProto.allCases where p != .unknown && p != .failed {
            if EventName.matches(p.eveName, prefix) { return p }
        }
        return nil
    }

    /// A rule's `app-layer-event:` value: `proto.event` or a generic `applayer_event`.
    /// Returns the protocol (nil for generic events) and the bit; nil when no parser here
    /// raises that event (the rule is then skipped with that reason).
    public static func lookup(_ name: Substring) -> (proto: AppProto?, bit: Int)? {
        if let dot = name.firstIndex(of: ".") {
            guard let p = proto(prefix: name[..<dot]) else { return nil }
            let event = name[name.index(after: dot)...]
            if let bit = EventName.bit(named: event, in: { AppLayerEvents.name(proto: p, bit: $0) },
                                       bits: 0 ..< firstGenericBit) {
                return (p, bit)
            }
            if p == .dns {
                for (alias, bit) in DNS.aliases where EventName.matches(alias, event) { return (p, bit) }
            }
            return nil
        }
        for (alias, bit) in Generic.aliases where EventName.matches(alias, name) { return (nil, bit) }
        if let bit = EventName.bit(named: name, in: genericName, bits: firstGenericBit ..< 64) { return (nil, bit) }
        return nil
    }
}


// The events each parser raises. A name is in a table only when the parser really detects
// the condition (Suricata's name, without the `proto.` prefix); a Suricata event we cannot
// detect stays out, so its rule is skipped with a reason instead of never matching.
// Bit numbers are stable (the bundle stores them): append, never renumber.

extension AppLayerEvents {
    /// HTTP/1.x (HTTPParser), libhtp's decoder events as Suricata names them.
    public enum HTTP {
        public static let gzipDecompressionFailed = AppLayerEvents(bit: 0)
        public static let requestFieldMissingColon = AppLayerEvents(bit: 1)
        public static let responseFieldMissingColon = AppLayerEvents(bit: 2)
        public static let invalidRequestChunkLen = AppLayerEvents(bit: 3)
        public static let invalidResponseChunkLen = AppLayerEvents(bit: 4)
        public static let invalidTransferEncodingInRequest = AppLayerEvents(bit: 5)
        public static let invalidTransferEncodingInResponse = AppLayerEvents(bit: 6)
        public static let invalidContentLengthInRequest = AppLayerEvents(bit: 7)
        public static let invalidContentLengthInResponse = AppLayerEvents(bit: 8)
        public static let duplicateContentLengthInRequest = AppLayerEvents(bit: 9)
        public static let duplicateContentLengthInResponse = AppLayerEvents(bit: 10)
        public static let continueAlreadySeen = AppLayerEvents(bit: 11)
        public static let unableToMatchResponse = AppLayerEvents(bit: 12)
        public static let invalidServerPortInRequest = AppLayerEvents(bit: 13)
        public static let invalidAuthorityPort = AppLayerEvents(bit: 14)
        public static let requestHeaderInvalid = AppLayerEvents(bit: 15)
        public static let responseHeaderInvalid = AppLayerEvents(bit: 16)
        public static let missingHostHeader = AppLayerEvents(bit: 17)
        public static let hostHeaderAmbiguous = AppLayerEvents(bit: 18)
        public static let invalidRequestFieldFolding = AppLayerEvents(bit: 19)
        public static let invalidResponseFieldFolding = AppLayerEvents(bit: 20)
        public static let requestFieldTooLong = AppLayerEvents(bit: 21)
        public static let responseFieldTooLong = AppLayerEvents(bit: 22)
        public static let requestURIHostInvalid = AppLayerEvents(bit: 23)
        public static let requestHeaderHostInvalid = AppLayerEvents(bit: 24)
        public static let methodDelimNonCompliant = AppLayerEvents(bit: 25)
        public static let uriDelimNonCompliant = AppLayerEvents(bit: 26)
        public static let abnormalCEHeader = AppLayerEvents(bit: 27)
        public static let responseAbnormalTransferEncoding = AppLayerEvents(bit: 28)
        public static let responseChunkedOldProto = AppLayerEvents(bit: 29)
        public static let responseInvalidProtocol = AppLayerEvents(bit: 30)
        public static let responseInvalidStatus = AppLayerEvents(bit: 31)
        public static let requestLineInvalid = AppLayerEvents(bit: 32)
        public static let requestLineMissingProtocol = AppLayerEvents(bit: 33)

        static let names: [StaticString] = [
            "gzip_decompression_failed", "request_field_missing_colon", "response_field_missing_colon",
            "invalid_request_chunk_len", "invalid_response_chunk_len",
            "invalid_transfer_encoding_value_in_request", "invalid_transfer_encoding_value_in_response",
            "invalid_content_length_field_in_request", "invalid_content_length_field_in_response",
            "duplicate_content_length_field_in_request", "duplicate_content_length_field_in_response",
            "100_continue_already_seen", "unable_to_match_response_to_request",
            "invalid_server_port_in_request", "invalid_authority_port",
            "request_header_invalid", "response_header_invalid", "missing_host_header",
            "host_header_ambiguous", "invalid_request_field_folding", "invalid_response_field_folding",
            "request_field_too_long", "response_field_too_long", "request_uri_host_invalid",
            "request_header_host_invalid", "method_delim_non_compliant", "uri_delim_non_compliant",
            "abnormal_ce_header", "response_abnormal_transfer_encoding", "response_chunked_old_proto",
            "response_invalid_protocol", "response_invalid_status", "request_line_invalid",
            "request_line_missing_protocol",
        ]
    }

    /// TLS (TLSParser), app-layer-ssl.c's decoder events.
    public enum TLS {
        public static let invalidRecordVersion = AppLayerEvents(bit: 0)
        public static let invalidRecordType = AppLayerEvents(bit: 1)
        public static let invalidRecordLength = AppLayerEvents(bit: 2)
        public static let invalidHandshakeMessage = AppLayerEvents(bit: 3)
        public static let heartbeatMessage = AppLayerEvents(bit: 4)
        public static let tooManyRecordsInPacket = AppLayerEvents(bit: 5)
        public static let multipleSNIExtensions = AppLayerEvents(bit: 6)
        public static let invalidSNIType = AppLayerEvents(bit: 7)
        public static let invalidSNILength = AppLayerEvents(bit: 8)
        public static let certificateInvalidLength = AppLayerEvents(bit: 9)

        static let names: [StaticString] = [
            "invalid_record_version", "invalid_record_type", "invalid_record_length",
            "invalid_handshake_message", "heartbeat_message", "too_many_records_in_packet",
            "multiple_sni_extensions", "invalid_sni_type", "invalid_sni_length",
            "certificate_invalid_length",
        ]
        /// Suricata's limit of records parsed from one packet's data before
        /// `too_many_records_in_packet` (a flood of tiny records costs per record).
        public static let maxRecordsPerPacket = 255
    }

    /// DNS over UDP and TCP (DNSParser), Suricata's rust/src/dns events.
    public enum DNS {
        public static let malformedData = AppLayerEvents(bit: 0)
        public static let notRequest = AppLayerEvents(bit: 1)
        public static let notResponse = AppLayerEvents(bit: 2)
        public static let zFlagSet = AppLayerEvents(bit: 3)
        public static let invalidOpcode = AppLayerEvents(bit: 4)
        /// More queries unanswered on one flow than `DNSConfig.requestFlood` (DNSFlood.swift).
        public static let flooded = AppLayerEvents(bit: 5)

        static let names: [StaticString] = [
            "malformed_data", "not_request", "not_response", "z_flag_set", "invalid_opcode", "flooded",
        ]
        /// Suricata 4/5's names (ET Open 2019 era rules) for the same conditions.
        static let aliases: [(StaticString, Int)] = [("not_a_request", 1), ("not_a_response", 2)]
    }

    /// HTTP/2 (HTTP2Parser), Suricata's rust/src/http2 events.
    public enum HTTP2 {
        public static let invalidClientMagic = AppLayerEvents(bit: 0)
        public static let invalidFrameData = AppLayerEvents(bit: 1)
        public static let invalidHeader = AppLayerEvents(bit: 2)
        public static let invalidFrameLength = AppLayerEvents(bit: 3)
        public static let longFrameData = AppLayerEvents(bit: 4)
        public static let failedDecompression = AppLayerEvents(bit: 5)
        public static let tooManyStreams = AppLayerEvents(bit: 6)
        public static let dataStreamIDZero = AppLayerEvents(bit: 7)

        static let names: [StaticString] = [
            "invalid_client_magic", "invalid_frame_data", "invalid_header", "invalid_frame_length",
            "long_frame_data", "failed_decompression", "too_many_streams", "data_stream_id_zero",
        ]
    }

    /// SSH (SSHParser): its feed already names Suricata's conditions (`SSHEvents`).
    public enum SSH {
        public static let invalidBanner = AppLayerEvents(bit: 0)
        public static let longBanner = AppLayerEvents(bit: 1)
        public static let invalidRecord = AppLayerEvents(bit: 2)

        static let names: [StaticString] = ["invalid_banner", "long_banner", "invalid_record"]
    }

    /// SMTP (SMTPParser, Suricata's smtp-events.rules and app-layer-smtp.c names). Raised:
    /// invalid_reply, unable_to_match_reply_with_request, max_command_line_len_exceeded,
    /// max_reply_line_len_exceeded, invalid_pipelined_sequence, no_server_welcome_message,
    /// tls_rejected, data_command_rejected, truncated_line, hold_overflow. The others are named so rules
    /// load; the MIME ones need the message's MIME decoding (not in the IPS yet).
    public enum SMTP {
        public static let invalidReply = AppLayerEvents(bit: 0)
        public static let unableToMatchReplyWithRequest = AppLayerEvents(bit: 1)
        public static let maxCommandLineLenExceeded = AppLayerEvents(bit: 2)
        public static let maxReplyLineLenExceeded = AppLayerEvents(bit: 3)
        public static let invalidPipelinedSequence = AppLayerEvents(bit: 4)
        public static let bdatChunkLenExceeded = AppLayerEvents(bit: 5)
        public static let noServerWelcomeMessage = AppLayerEvents(bit: 6)
        public static let tlsRejected = AppLayerEvents(bit: 7)
        public static let dataCommandRejected = AppLayerEvents(bit: 8)
        public static let truncatedLine = AppLayerEvents(bit: 23)
        /// Mimamori's own: more client bytes came before the reply to STARTTLS, AUTH or DATA
        /// than the hold keeps, so they were read without knowing the reply (an honest client
        /// waits): the parser's view may differ from the server's, inline policy can drop.
        public static let holdOverflow = AppLayerEvents(bit: 24)

        static let names: [StaticString] = [
            "invalid_reply", "unable_to_match_reply_with_request", "max_command_line_len_exceeded",
            "max_reply_line_len_exceeded", "invalid_pipelined_sequence", "bdat_chunk_len_exceeded",
            "no_server_welcome_message", "tls_rejected", "data_command_rejected", "failed_protocol_change",
            "mime_parse_failed", "mime_malformed_msg", "mime_invalid_base64", "mime_invalid_qp",
            "mime_long_line", "mime_long_enc_line", "mime_long_header_name", "mime_long_header_value",
            "mime_long_boundary", "mime_long_filename", "duplicate_fields", "missing_fields",
            "unparsable_content", "truncated_line", "hold_overflow",
        ]
    }

    /// Protocol detection's events, valid on any flow (bits 56...).
    public enum Generic {
        public static let mismatchProtocolBothDirections = AppLayerEvents(bit: 56)
        public static let wrongDirectionFirstData = AppLayerEvents(bit: 57)
        public static let detectProtocolOnlyOneDirection = AppLayerEvents(bit: 58)
        public static let protoDetectionSkipped = AppLayerEvents(bit: 59)
        public static let unexpectedProtocol = AppLayerEvents(bit: 60)

        static let names: [StaticString] = [
            "applayer_mismatch_protocol_both_directions", "applayer_wrong_direction_first_data",
            "applayer_detect_protocol_only_one_direction", "applayer_proto_detection_skipped",
            "applayer_unexpected_protocol",
        ]
        static let aliases: [(StaticString, Int)] = []
    }
}
