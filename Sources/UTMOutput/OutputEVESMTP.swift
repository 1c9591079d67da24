import UTMCore
import UTMAppLayer

// EVE `smtp` events: one per mail transaction, as Suricata's output-json-smtp.c and
// output-json-email-common.c write them (field names checked against them).

extension EVEWriter {
    /// Suricata's `smtp` event (client → server endpoints): `smtp` {`helo`, `mail_from`,
    /// `rcpt_to`[]} and, when the transaction carried a message, `email` {`status`, `from`,
    /// `to`[], `cc`[] (the header values split at commas, leading blanks skipped, as
    /// Suricata), `attachment`[] (the MIME part names the engine's decoder saw), `url`[] (body
    /// URLs, scheme included), and
    /// `subject`, `date`, `message_id`, `x_mailer`, `received`[]}. The last five
    /// are Suricata's `extended: yes` fields: always written here (a small office wants the
    /// subject of the mail that alerted; there is no config switch yet).
    public mutating func writeSMTP(_ tx: SMTPTransaction, time: Timestamp, _ e: EVEEndpoints,
                                   attachments: FieldStore? = nil, _ names: [Field] = []) {
        guard isEnabled(.smtp) else { return }
        begin(.smtp, time: time, e)
        json.key("smtp"); json.beginObject()
        smtpField(tx, "helo", tx.helo)
        smtpField(tx, "mail_from", tx.mailFrom)
        if !tx.rcptTo.isEmpty {
            json.key("rcpt_to"); json.beginArray()
            // Index loops: Array's generic iterator allocates in debug builds (allocation tests).
            var k = 0
            while k < tx.rcptTo.count { tx.withField(tx.rcptTo[k]) { json.string($0) }; k &+= 1 }
            json.endArray()
        }
        json.endObject()
        if tx.message != .none {
            json.key("email"); json.beginObject()
            json.key("status"); json.string(tx.message.eveName)
            smtpField(tx, "from", tx.from)
            smtpList(tx, "to", tx.to)
            smtpList(tx, "cc", tx.cc)
            smtpField(tx, "subject", tx.subject)
            smtpField(tx, "date", tx.date)
            smtpField(tx, "message_id", tx.messageID)
            smtpField(tx, "x_mailer", tx.xMailer)
            if let attachments, !names.isEmpty {
                json.key("attachment"); json.beginArray()
                var k = 0
                while k < names.count { attachments.withView(names[k]) { json.string($0) }; k &+= 1 }
                json.endArray()
            }
            if !tx.urls.isEmpty {
                json.key("url"); json.beginArray()
                var k = 0
                while k < tx.urls.count { tx.withField(tx.urls[k]) { json.string($0) }; k &+= 1 }
                json.endArray()
            }
            if !tx.received.isEmpty {
                json.key("received"); json.beginArray()
                var k = 0
                while k < tx.received.count { tx.withField(tx.received[k]) { json.string($0) }; k &+= 1 }
                json.endArray()
            }
            json.endObject()
        }
        end()
    }

    mutating func smtpField(_ tx: SMTPTransaction, _ key: StaticString, _ f: Field) {
        guard f.isPresent else { return }
        tx.withField(f) { v in
            json.key(key)
            json.string(v)
        }
    }

    /// A To/Cc header value as Suricata's comma list: each piece with its leading blanks skipped.
    mutating func smtpList(_ tx: SMTPTransaction, _ key: StaticString, _ f: Field) {
        guard f.isPresent else { return }
        tx.withField(f) { v in
            json.key(key); json.beginArray()
            var start = 0
            while start <= v.count {
                let end = v.firstIndex(of: UInt8(ascii: ","), from: start) ?? v.count
                var s = start
                while s < end, let c = v.u8(s), c == 0x20 || c == 0x09 { s &+= 1 }
                // strtok skips empty pieces.
                if end > start, let piece = v.slice(s, end &- s) { json.string(piece) }
                start = end &+ 1
            }
            json.endArray()
        }
    }
}
