/// `flow:` — connection state and direction: established, not_established, stateless,
/// to_server/from_client, to_client/from_server, only_stream/no_stream, only_frag/no_frag.
enum DetectFlow {
    @Sendable static func flow(_ b: inout SignatureBuilder, _ v: Substring?) throws(RuleError) {
        var m: FlowMatch = []
        for p in KW.commas(try KW.require(v, "flow")) {
            switch p.lowercased() {
            case "established": m.insert(.established)
            case "not_established": m.insert(.notEstablished)
            case "stateless": m.insert(.stateless)
            case "to_server", "from_client": m.insert(.toServer)
            case "to_client", "from_server": m.insert(.toClient)
            case "only_stream": m.insert(.onlyStream)
            case "no_stream": m.insert(.noStream)
            case "only_frag": m.insert(.onlyFrag)
            case "no_frag": m.insert(.noFrag)
            default: throw .invalid("flow: unknown option '\(p)'")
            }
        }
        if m.contains(.toServer) && m.contains(.toClient) { throw .invalid("flow: to_server and to_client together") }
        if m.contains(.established) && m.contains(.notEstablished) { throw .invalid("flow: established and not_established together") }
        if m.contains(.onlyStream) && m.contains(.noStream) { throw .invalid("flow: only_stream and no_stream together") }
        if !b.signature.flow.isEmpty { throw .invalid("flow given twice") }
        b.signature.flow = m
    }
}
