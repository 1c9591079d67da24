import UTMCore
import UTMFlow
import UTMAppLayer
import UTMDetect
import UTMOutput

// SMTP hooks (session 12): stream bytes into the flow's pooled `SMTPParser`, one `smtp` event
// and one IPS inspection per mail transaction, Suricata's smtp anomaly events, and the switch
// to TLS after an accepted STARTTLS (like `upgradeToHTTP2`).

extension Engine {
    func smtpData(_ ref: FlowRef, _ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints, time: Timestamp,
                  app: inout AppProto, slot: inout Int32, bits: inout UInt32) {
        // Made with the slot (`smtpFilesReset`); whether a message is decoded is decided at its
        // start (`smtpMessage`).
        let files = smtpFiles[i]
        smtp.items[i].feed(data, direction: chunk.direction, gap: chunk.gapBefore, on: { ev in
            switch ev {
            case .transaction(let tx):
                if self.detect != nil { self.detectSMTP(tx) }
                if files.decoding {
                    self.eve.writeSMTP(tx, time: time, m, attachments: files.names, files.nameFields)
                } else {
                    self.eve.writeSMTP(tx, time: time, m)
                }
                // The names belong to this transaction's message only.
                files.reset()
            case .messageBegin, .messageData, .messageEnd:
                self.smtpMessage(files, ev)
            }
        })
        let anomalies = smtp.items[i].takeAppEvents()
        if !anomalies.isEmpty { raiseAppEvents(anomalies, .smtp) }
        if smtp.items[i].tlsStarted { smtpStartTLS(ref, i, data, chunk, m, time: time, app: &app, slot: &slot, bits: &bits) }
    }

    /// The server accepted STARTTLS: the flow is TLS from the byte after its 220 line (Suricata
    /// hands the flow to its TLS parser the same way). The SMTP state goes back to its pool,
    /// the antivirus stops reading the flow as mail, the client's bytes sent after its STARTTLS
    /// (its ClientHello, held by the parser until the 220) and the rest of this chunk (the
    /// server's first TLS bytes, if they came with the 220) go to the TLS parser.
    func smtpStartTLS(_ ref: FlowRef, _ i: Int, _ data: ByteView, _ chunk: StreamChunk, _ m: EVEEndpoints,
                      time: Timestamp, app: inout AppProto, slot: inout Int32, bits: inout UInt32) {
        let start = smtp.items[i].tlsStart
        let smtpSlot = slot
        avMailStop(ref, m, time: time)
        app = .tls
        guard let s = acquire(.tls) else {
            // No TLS state free: nothing more can be read on this flow.
            smtp.release(smtpSlot)
            slot = -1
            bits |= FlowBits.parserDone | FlowBits.encrypted
            return
        }
        slot = s
        stats.appDetected[Int(AppProto.tls.rawValue)] &+= 1
        // The held bytes are moved out of the pooled parser (no copy) and given back after.
        var held: [UInt8] = []
        let lost = smtp.items[i].heldLost
        smtp.items[i].swapHeld(&held)
        if !held.isEmpty {
            var c = chunk
            c.direction = .toServer
            c.gapBefore = lost
            held.withUnsafeBytes { feedApp(ref, ByteView($0), c, meta: m, time: time, app: &app, slot: &slot, bits: &bits) }
        }
        smtp.items[i].swapHeld(&held)
        smtp.release(smtpSlot)
        guard slot >= 0, app == .tls else { return }
        guard start >= 0, let tail = data.suffix(from: start), !tail.isEmpty else { return }
        var c = chunk
        c.gapBefore = false
        feedApp(ref, tail, c, meta: m, time: time, app: &app, slot: &slot, bits: &bits)
    }

    /// The flow ended: the open transaction is logged, unless the IPS cut the flow short. It is
    /// not inspected (no packet carries it: like the IPS's other app-layer transactions, only
    /// what ended on a packet is matched), and an attachment still open is not file_data.
    func smtpEnd(_ i: Int, _ flow: Flow, _ m: EVEEndpoints) {
        guard flow.engineFlags & FlowBits.ipsBlocked == 0 else { return }
        let time = flow.lastSeen
        if i < smtpFiles.count && smtpFiles[i].decoding {
            // A message cut by the flow's end: its names so far.
            let files = smtpFiles[i]
            smtp.items[i].finish { tx in self.eve.writeSMTP(tx, time: time, m, attachments: files.names, files.nameFields) }
        } else {
            smtp.items[i].finish { tx in self.eve.writeSMTP(tx, time: time, m) }
        }
    }

    /// IPS inspection of one mail transaction (the `smtp` inspection point), on the client's
    /// side (the transaction ends on its bytes: the message's end, RSET, QUIT, a new MAIL).
    /// So `smtp.*` and `email.*` rules act on the packet that ends the transaction (the one
    /// with DATA's final `.`, or BDAT LAST's last chunk byte), not on the packet that carried
    /// the matching header: an inline drop stops the `.`, so the server never takes the mail.
    /// A flow that ends mid-message is logged by `smtpEnd` but never inspected. The order:
    /// phase 1 with the single buffers, phase 2 once per body URL, phase 3 once per recipient,
    /// phase 4 once per Received header (multi-buffers: a rule alerts once per transaction
    /// whichever instance matched).
    func detectSMTP(_ tx: SMTPTransaction) {
        guard let d = detect, detectCursor.slot >= 0 else { return }
        let f = detectFacts(.toServer, app: .smtp, stream: false)
        let slot = detectCursor.slot, time = detectCursor.time
        // Every field lives in the transaction's one store: lend it once, slice each field.
        tx.store.withView(Field(offset: 0, length: Int32(tx.store.used))) { all in
            var buffers = InspectionBuffers()
            Self.smtpSet(&buffers, .smtpHelo, all, tx.helo)
            Self.smtpSet(&buffers, .smtpMailFrom, all, tx.mailFrom)
            Self.smtpSet(&buffers, .emailFrom, all, tx.from)
            Self.smtpSet(&buffers, .emailSubject, all, tx.subject)
            Self.smtpSet(&buffers, .emailTo, all, tx.to)
            Self.smtpSet(&buffers, .emailCc, all, tx.cc)
            Self.smtpSet(&buffers, .emailDate, all, tx.date)
            Self.smtpSet(&buffers, .emailMessageID, all, tx.messageID)
            Self.smtpSet(&buffers, .emailXMailer, all, tx.xMailer)
            d.inspectApp(.smtp, phase: 1, f, buffers: buffers, slot: slot, time: time) { s, alert in
                self.detectMatched(s, alert, f)
            }
        }
        detectSMTPEach(d, tx, tx.rcptTo, .smtpRcptTo, phase: 3, f, slot: slot, time: time)
        detectSMTPEach(d, tx, tx.urls, .emailURL, phase: 2, f, slot: slot, time: time)
        detectSMTPEach(d, tx, tx.received, .emailReceived, phase: 4, f, slot: slot, time: time)
    }

    /// One multi-buffer of the transaction (`smtp.rcpt_to`, `email.url`, `email.received`):
    /// each instance is inspected at `phase`, and a rule alerts once per transaction whichever
    /// instance matched (Suricata's multi-buffer semantics).
    private func detectSMTPEach(_ d: DetectEngine, _ tx: SMTPTransaction, _ fields: [Field], _ buffer: BufferID,
                                phase: UInt8, _ f: PacketFacts, slot: Int, time: Int64) {
        guard d.uses(buffer) && !fields.isEmpty else { return }
        d.beginInstances()
        var k = 0
        while k < fields.count {
            tx.withField(fields[k]) { v in
                var b = InspectionBuffers()
                b[buffer] = v
                d.inspectApp(.smtp, phase: phase, f, buffers: b, slot: slot, time: time) { s, alert in
                    if d.firstInstanceMatch(s) { self.detectMatched(s, alert, f) }
                }
            }
            k &+= 1
        }
    }

    /// A present field as buffer `id` (an absent header is no buffer: `content` cannot match it).
    static func smtpSet(_ b: inout InspectionBuffers, _ id: BufferID, _ all: ByteView, _ f: Field) {
        guard f.isPresent, let v = all.slice(Int(f.offset), Int(f.length)) else { return }
        b[id] = v
    }
}
