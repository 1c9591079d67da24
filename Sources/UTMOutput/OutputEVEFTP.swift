import UTMCore
import UTMAppLayer

extension EVEWriter {
    /// Suricata's `ftp` event for one command and its reply (client → server endpoints):
    /// `command` and `command_data` (what followed the command word), `reply` (each reply
    /// line without its code) and `completion_code` (the code of each line that has one),
    /// `dynamic_port` (from PORT/EPRT or a 227/229 reply), `mode` (PORT/EPRT only, as
    /// Suricata), `reply_received`, `reply_truncated`. The greeting has no command.
    public mutating func writeFTP(_ tx: FTPTransaction, time: Timestamp, _ e: EVEEndpoints) {
        guard isEnabled(.ftp) else { return }
        begin(.ftp, time: time, e)
        json.key("ftp"); json.beginObject()
        if tx.hasCommand {
            tx.withField(tx.commandName) { json.key("command"); json.string($0) }
            if tx.argument.isPresent {
                tx.withField(tx.argument) { json.key("command_data"); json.string($0) }
                json.key("command_truncated"); json.bool(tx.commandTruncated)
            }
        }
        // Index loops: Array's generic iterator allocates in debug builds (allocation tests).
        let lines = tx.replyLines.count
        if lines > 0 {
            var coded = 0
            var k = 0
            while k < lines {
                if tx.withField(tx.replyLines[k], { FTPParser.code($0) != 0 }) { coded &+= 1 }
                k &+= 1
            }
            if coded > 0 {
                json.key("completion_code"); json.beginArray()
                k = 0
                while k < lines {
                    tx.withField(tx.replyLines[k]) { v in if FTPParser.code(v) != 0 { json.string(v.prefix(3)) } }
                    k &+= 1
                }
                json.endArray()
            }
            json.key("reply"); json.beginArray()
            k = 0
            while k < lines {
                tx.withField(tx.replyLines[k]) { v in json.string(FTPParser.code(v) != 0 ? v.dropFirst(4) : v) }
                k &+= 1
            }
            json.endArray()
        }
        if tx.dynamicPort != 0 { json.key("dynamic_port"); json.uint(UInt64(tx.dynamicPort)) }
        if tx.command == .port || tx.command == .eprt {
            json.key("mode"); json.string(tx.active ? "active" : "passive")
        }
        json.key("reply_received"); json.string(tx.replyReceived ? "yes" : "no")
        json.key("reply_truncated"); json.bool(tx.replyTruncated)
        json.endObject()
        end()
    }
}
