import Foundation
import UTMCloudClient
import UTMStore

/// Customer notifications [000 3.3]: (1) important alerts, aggregated per box into one mail
/// whose subject carries the highest severity (★★★ / ★★☆ / ★☆☆, or ※調査中※ when none is
/// known); (2) a box whose heartbeats stopped is reported, then again every
/// `offlineRepeatSeconds` while it stays offline. Mails go to the box's (up to three)
/// addresses through the configured SMTP relay; a failed send is retried at the next round.
extension CloudService {
    /// What one round did, for the log and tests.
    public struct NotifyReport: Sendable, Equatable {
        public var alertMails: [String] = []
        public var offline: [String] = []
        public var failures: [String] = []
    }

    public static func stars(_ severity: Int) -> String {
        switch severity {
        case 3...: "★★★"
        case 2: "★★☆"
        case 1: "★☆☆"
        default: "※調査中※"
        }
    }

    /// One round: alert mails, then offline detection. The serve loop calls it every few
    /// seconds; tests call it with a moved clock.
    @discardableResult
    public func notify(smtp: SMTPClient) -> NotifyReport {
        var report = NotifyReport()
        let now = config.clock()
        let pending: [(serial: String, emails: [String])]
        do {
            pending = try locked {
                try db.query("""
                    SELECT DISTINCT a.serial, d.emails FROM alerts a JOIN devices d ON d.serial = a.serial
                    WHERE a.notified_us IS NULL ORDER BY a.serial
                    """).map { ($0[0] ?? "", ($0[1] ?? "").split(separator: ",").map(String.init)) }
            }
        } catch {
            log("cloud: notify: \(error)")
            return report
        }
        for (serial, emails) in pending {
            do {
                let rows = try locked {
                    try db.query("SELECT id, record FROM alerts WHERE serial = ?1 AND notified_us IS NULL ORDER BY id LIMIT 500", [serial])
                }
                let records = rows.compactMap { r in r[1].flatMap { try? JSONDecoder().decode(UploadRecord.self, from: Data($0.utf8)) } }
                guard let maxID = rows.last?[0] else { continue }
                if !emails.isEmpty {
                    let mail = alertMail(serial: serial, to: emails, records: records)
                    try smtp.send(mail)
                    try locked { try recordMail(serial, "alert", emails, mail.subject, now) }
                    report.alertMails.append(mail.subject)
                }
                try locked {
                    try db.query("UPDATE alerts SET notified_us = ?3 WHERE serial = ?1 AND notified_us IS NULL AND id <= ?2",
                                 [serial, maxID, now])
                }
            } catch {
                report.failures.append("\(serial): \(error)")
                log("cloud: alert mail for \(serial) not sent, retried next round: \(error)")
            }
        }
        let cutoff = now - Int64(config.offlineMinutes) * 60_000_000
        let repeatCutoff = now - Int64(config.offlineRepeatSeconds) * 1_000_000
        do {
            let offline = try locked {
                try db.query("""
                    SELECT serial, emails, last_seen_us FROM devices
                    WHERE activated_us IS NOT NULL AND last_seen_us < ?1
                      AND (offline_reported_us IS NULL OR offline_reported_us <= ?2) ORDER BY serial
                    """, [cutoff, repeatCutoff])
            }
            for row in offline {
                let serial = row[0] ?? ""
                let emails = (row[1] ?? "").split(separator: ",").map(String.init)
                let lastSeen = Date(timeIntervalSince1970: Double(Int64(row[2] ?? "0") ?? 0) / 1_000_000)
                log("cloud: \(serial) offline: no heartbeat since \(lastSeen)")
                do {
                    if !emails.isEmpty {
                        let mail = Mail(from: config.mailFrom, to: emails, subject: "【Mimamori】UTM装置稼働停止通知 \(serial)",
                                        body: "UTM装置 \(serial) からの通信が \(lastSeen) 以降途絶えています。\n"
                                            + "電源とLANケーブルの接続をご確認ください。復旧しない場合は日次で再度お知らせします。\n")
                        try smtp.send(mail)
                        try locked { try recordMail(serial, "offline", emails, mail.subject, now) }
                    }
                    try locked { try db.query("UPDATE devices SET offline_reported_us = ?2 WHERE serial = ?1", [serial, now]) }
                    report.offline.append(serial)
                } catch {
                    report.failures.append("\(serial): \(error)")
                    log("cloud: offline mail for \(serial) not sent, retried next round: \(error)")
                }
            }
        } catch {
            log("cloud: offline check: \(error)")
        }
        return report
    }

    func recordMail(_ serial: String, _ kind: String, _ to: [String], _ subject: String, _ now: Int64) throws {
        try db.query("INSERT INTO mails(serial, kind, recipients, subject, sent_us) VALUES (?1, ?2, ?3, ?4, ?5)",
                     [serial, kind, to.joined(separator: ","), subject, now])
    }

    /// One mail for all pending alerts of a box; the subject carries the highest severity.
    func alertMail(serial: String, to: [String], records: [UploadRecord]) -> Mail {
        let highest = records.map(\.severity).max() ?? 0
        let subject = "【Mimamori】重要アラート \(Self.stars(highest)) \(records.count)件 (\(serial))"
        var body = "UTM装置 \(serial) が次の脅威を検知しました。重要度の最も高いもの: \(Self.stars(highest))\n\n"
        for r in records.sorted(by: { $0.severity > $1.severity }) {
            body += "\(Self.stars(r.severity)) \(r.time) \(r.type) \(r.name ?? "-")\n"
            body += "    \(r.src_ip ?? "?")\(r.src_mac.map { " (\($0))" } ?? "") → \(r.dest_ip ?? "?")"
            if let where_ = r.url ?? r.sni { body += " \(where_)" }
            body += "\n"
        }
        if highest >= 2 { body += "\n対象の機器でウイルス対策ソフトのフルスキャンを実施してください。\n" }
        if records.contains(where: { $0.severity <= 0 }) { body += "\n※調査中※ 調査完了後に結果をお知らせします。\n" }
        return Mail(from: config.mailFrom, to: to, subject: subject, body: body)
    }
}
