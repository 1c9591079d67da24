/// The report's words in Japanese (default) and English. One table, so a translator sees all.
struct ReportText {
    let ja: Bool
    init(language: String) { ja = language != "en" }

    func t(_ key: String) -> String { (ja ? Self.japanese : Self.english)[key] ?? key }

    /// A web category for people: the taxonomy's groups translated, UT1 names as they are.
    func category(_ name: String) -> String { (ja ? Self.japanese : Self.english)["cat_" + name] ?? name }

    static let japanese: [String: String] = [
        "monthly": "月次セキュリティレポート", "weekly": "週次セキュリティレポート",
        "period": "対象期間", "generated": "作成日時", "box": "装置",
        "summary": "概要", "threats_blocked": "ブロックした脅威", "blocked_sites": "ブロックしたWebアクセス",
        "access": "記録した通信", "devices": "通信した機器",
        "threats": "ブロックした脅威（重要度別・種類別）", "by_severity": "重要度別", "by_type": "種類別",
        "ips": "不正侵入（IPS）", "antivirus": "ウイルス（アンチウイルス）", "web": "危険サイト（Webフィルタ）",
        "recent_threats": "脅威の一覧（新しい順、最大20件）", "time": "日時", "kind": "種類", "severity": "重要度",
        "name": "名称", "device": "機器",
        "blocked_by_category": "ブロックしたWebサイト（カテゴリ別）", "category": "カテゴリ", "count": "件数",
        "top_visits": "アクセス数の多いサイト（上位30）", "top_time": "利用時間の長いサイト（上位30）",
        "site": "サイト", "visits": "アクセス数", "minutes": "利用時間（分）", "rank": "順位",
        "after_hours": "時間外の通信（22:00〜5:00・土日・祝日）", "night": "夜間", "weekend": "土日", "holiday": "祝日",
        "total": "合計", "mac": "MACアドレス", "holidays_in_period": "期間中の祝日",
        "updates": "定義ファイル・ファームウェアの更新履歴", "update_kind": "対象", "version": "バージョン", "result": "結果",
        "none": "該当なし", "empty": "この期間の記録はありません。",
        "footer": "Mimamori UTM が装置内で作成したレポートです。通信の中身（ファイルやメール本文）は含みません。",
        "ips_kind": "IPS", "antivirus_kind": "ウイルス", "web_kind": "危険サイト",
        "ips_up": "IPSシグネチャ", "antivirus_up": "ウイルス定義", "av_up": "ウイルス定義", "categories_up": "URLカテゴリ", "firmware_up": "ファームウェア",
        "cat_security": "セキュリティ（マルウェア・フィッシング等）", "cat_illegal": "違法", "cat_adult": "アダルト",
        "cat_dating": "出会い系", "cat_gambling": "ギャンブル", "cat_extreme": "過激", "cat_other": "その他",
        "cat_uncategorised": "未分類（拒否リスト・アプリ制限）",
        "res_applied": "適用", "res_failed": "失敗", "res_rolled back": "ロールバック",
        // What the box's updater records (UTMBoxAgent.ArtifactSync).
        "res_installed": "適用", "res_refused": "拒否（署名・版数の検証に失敗）", "res_staged": "次回再起動で適用",
        "res_download failed": "ダウンロード失敗",
    ]

    static let english: [String: String] = [
        "monthly": "Monthly security report", "weekly": "Weekly security report",
        "period": "Period", "generated": "Generated", "box": "Box",
        "summary": "Summary", "threats_blocked": "Threats blocked", "blocked_sites": "Web accesses blocked",
        "access": "Connections recorded", "devices": "Devices seen",
        "threats": "Threats blocked by severity and type", "by_severity": "By severity", "by_type": "By type",
        "ips": "Intrusion attempts (IPS)", "antivirus": "Viruses (antivirus)", "web": "Dangerous sites (web filter)",
        "recent_threats": "Threats (newest first, at most 20)", "time": "Time", "kind": "Type", "severity": "Severity",
        "name": "Name", "device": "Device",
        "blocked_by_category": "Blocked web sites by category", "category": "Category", "count": "Count",
        "top_visits": "Top 30 sites by visits", "top_time": "Top 30 sites by time",
        "site": "Site", "visits": "Visits", "minutes": "Time (minutes)", "rank": "#",
        "after_hours": "After-hours activity (22:00–05:00, weekends, public holidays)", "night": "Night", "weekend": "Weekend",
        "holiday": "Holiday", "total": "Total", "mac": "MAC address", "holidays_in_period": "Public holidays in the period",
        "updates": "Definitions and firmware updates", "update_kind": "What", "version": "Version", "result": "Result",
        "none": "None in this period", "empty": "Nothing was recorded in this period.",
        "footer": "Made on the box by Mimamori UTM. It holds no content of the traffic (no files, no mail bodies).",
        "ips_kind": "IPS", "antivirus_kind": "Virus", "web_kind": "Dangerous site",
        "ips_up": "IPS signatures", "antivirus_up": "Virus definitions", "av_up": "Virus definitions", "categories_up": "URL categories", "firmware_up": "Firmware",
        "cat_security": "Security (malware, phishing…)", "cat_illegal": "Illegal", "cat_adult": "Adult", "cat_dating": "Dating",
        "cat_gambling": "Gambling", "cat_extreme": "Extreme", "cat_other": "Other",
        "cat_uncategorised": "Uncategorised (deny list, app policy)",
    ]
}
