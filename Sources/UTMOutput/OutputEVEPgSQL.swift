import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `pgsql` event for one transaction (client → server endpoints): `tx_id`, the
    /// `request` (startup parameters, simple query, SASL steps; passwords are never written,
    /// only `password_redacted`) and the `response` (authentication steps, parameter status,
    /// backend key, command tag, row counts, error fields). Field names are Suricata's.
    public mutating func writePgSQL(_ p: borrowing PgSQLParser, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.pgsql) else { return }
        let tx = p.tx
        begin(.pgsql, time: time, e)
        json.key("pgsql"); json.beginObject()
        json.key("tx_id"); json.uint(tx.id)
        if tx.request != .none {
            json.key("request"); json.beginObject()
            pgsqlRequest(p, tx)
            json.endObject()
        }
        if tx.responseMessages > 0 {
            json.key("response"); json.beginObject()
            pgsqlResponse(p, tx)
            json.endObject()
        }
        json.endObject()
        end()
    }

    mutating func pgsqlField(_ p: borrowing PgSQLParser, _ key: StaticString, _ f: Field) {
        guard f.isPresent else { return }
        p.store.withView(f) { v in
            json.key(key)
            json.string(v)
        }
    }

    mutating func pgsqlRequest(_ p: borrowing PgSQLParser, _ tx: PgSQLTransaction) {
        switch tx.request {
        case .sslRequest:
            json.key("message"); json.string("SSL Request")
        case .gssEncRequest:
            json.key("message"); json.string("GSSENC Request")
        case .cancelRequest:
            json.key("message"); json.string("cancel_request")
            json.key("process_id"); json.uint(UInt64(tx.cancelProcessID))
            json.key("secret_key"); json.uint(UInt64(tx.cancelSecretKey))
        case .startup:
            json.key("protocol_version")
            json.string(decimal: UInt64(tx.protocolMajor), dot: UInt64(tx.protocolMinor))
            json.key("startup_parameters"); json.beginObject()
            var optional = 0
            for i in tx.startupParameters {
                let named = p.withParameter(i) { n, v -> Bool in
                    if n == ("user" as StaticString).byteView || n == ("database" as StaticString).byteView {
                        json.key(n); json.string(v)
                        return true
                    }
                    return false
                } ?? true
                if !named { optional += 1 }
            }
            if optional > 0 {
                json.key("optional_parameters"); json.beginArray()
                for i in tx.startupParameters {
                    _ = p.withParameter(i) { n, v in
                        guard !(n == ("user" as StaticString).byteView), !(n == ("database" as StaticString).byteView) else { return }
                        json.beginObject(); json.key(n); json.string(v); json.endObject()
                    }
                }
                json.endArray()
            }
            json.endObject()
        case .simpleQuery:
            pgsqlField(p, "simple_query", tx.query)
        case .password:
            json.key("password_redacted"); json.bool(true)
        case .saslInitialResponse:
            pgsqlField(p, "sasl_authentication_mechanism", tx.saslMechanism)
            if tx.saslData.isPresent {
                json.key("sasl_param_length"); json.uint(UInt64(tx.saslData.length))
                pgsqlField(p, "sasl_param", tx.saslData)
            }
        case .saslResponse:
            pgsqlField(p, "sasl_response", tx.saslData)
        case .terminate:
            json.key("message"); json.string("termination_message")
        default:
            json.key("message"); json.string(Self.pgsqlRequestName(tx.request))
            pgsqlField(p, "query", tx.query)
        }
    }

    mutating func pgsqlResponse(_ p: borrowing PgSQLParser, _ tx: PgSQLTransaction) {
        if tx.sslAnswer != 0 {
            json.key("accepted"); json.bool(tx.sslAnswer == UInt8(ascii: "S") || tx.sslAnswer == UInt8(ascii: "G"))
        }
        if let code = tx.authCode {
            switch code {
            case 3: json.key("message"); json.string("authentication_cleartext_password")
            case 5: pgsqlField(p, "authentication_md5_password", tx.authData)
            case 10:
                json.key("sasl_authentication_mechanisms"); json.beginArray()
                if tx.authData.isPresent {
                    p.store.withView(tx.authData) { json.nulSeparatedStrings($0) }
                }
                json.endArray()
            case 11: pgsqlField(p, "sasl_authentication_continue", tx.authData)
            case 12: pgsqlField(p, "sasl_authentication_final", tx.authData)
            default: break
            }
        }
        if tx.authOK { json.key("message"); json.string("authentication_ok") }
        if !tx.parameterStatus.isEmpty {
            json.key("parameter_status"); json.beginArray()
            for i in tx.parameterStatus {
                _ = p.withParameter(i) { n, v in
                    json.beginObject(); json.key(n); json.string(v); json.endObject()
                }
            }
            json.endArray()
        }
        if let pid = tx.processID {
            json.key("process_id"); json.uint(UInt64(pid))
            json.key("secret_key"); json.uint(UInt64(tx.secretKey))
        }
        if tx.hasError || tx.hasNotice {
            let f = tx.error
            pgsqlField(p, "severity_localizable", f.severity)
            pgsqlField(p, "severity_non_localizable", f.severityNonLocalized)
            pgsqlField(p, "code", f.code)
            pgsqlField(p, "message", f.message)
            pgsqlField(p, "detail", f.detail)
            pgsqlField(p, "hint", f.hint)
            pgsqlField(p, "position", f.position)
            pgsqlField(p, "file", f.file)
            pgsqlField(p, "line", f.line)
            pgsqlField(p, "routine", f.routine)
        }
        if let n = tx.fieldCount { json.key("field_count"); json.uint(UInt64(n)) }
        if tx.dataRows > 0 || tx.fieldCount != nil {
            json.key("data_rows"); json.uint(tx.dataRows)
            json.key("data_size"); json.uint(tx.dataSize)
        }
        pgsqlField(p, "command_completed", tx.commandCompleted)
    }

    static func pgsqlRequestName(_ k: PgSQLRequestKind) -> StaticString {
        switch k {
        case .parse: return "parse"
        case .bind: return "bind"
        case .execute: return "execute"
        case .describe: return "describe"
        case .close: return "close"
        case .sync: return "sync"
        case .flush: return "flush"
        case .functionCall: return "function_call"
        case .copyData: return "copy_data"
        case .copyDone: return "copy_done"
        case .copyFail: return "copy_fail"
        default: return "unknown"
        }
    }
}
