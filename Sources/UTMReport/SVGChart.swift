/// Inline SVG charts: the report is one HTML file that opens anywhere (mail attachment,
/// offline), so no scripts, fonts or images from elsewhere.
enum SVGChart {
    static let palette = ["#c0392b", "#e67e22", "#f1c40f", "#2980b9", "#16a085", "#8e44ad", "#7f8c8d", "#2c3e50"]

    /// Horizontal bars, one per item, value written at the bar's end.
    static func bars(_ items: [(label: String, value: Int, color: String?)], width: Int = 640, labelWidth: Int = 200) -> String {
        guard !items.isEmpty else { return "" }
        let row = 24, height = items.count * row + 8
        let maxValue = max(1, items.map(\.value).max() ?? 1)
        let room = width - labelWidth - 70
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        for (i, item) in items.enumerated() {
            let y = 4 + i * row
            let w = item.value == 0 ? 0 : max(2, item.value * room / maxValue)
            let color = item.color ?? palette[i % palette.count]
            s += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 16)\" text-anchor=\"end\" font-size=\"13\">\(HTML.escape(item.label))</text>"
            s += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(row - 8)\" fill=\"\(color)\" rx=\"2\"/>"
            s += "<text x=\"\(labelWidth + w + 6)\" y=\"\(y + 16)\" font-size=\"13\">\(item.value)</text>"
        }
        return s + "</svg>"
    }

    /// One bar per label split into coloured parts (after-hours per device: night/weekend/holiday).
    static func stacked(_ rows: [(label: String, parts: [Int])], colors: [String], legend: [String],
                        width: Int = 640, labelWidth: Int = 200) -> String {
        guard !rows.isEmpty else { return "" }
        let row = 24, top = 26, height = top + rows.count * row + 8
        let maxValue = max(1, rows.map { $0.parts.reduce(0, +) }.max() ?? 1)
        let room = width - labelWidth - 70
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\">"
        var lx = labelWidth
        for (i, name) in legend.enumerated() {
            s += "<rect x=\"\(lx)\" y=\"6\" width=\"12\" height=\"12\" fill=\"\(colors[i % colors.count])\"/>"
            s += "<text x=\"\(lx + 16)\" y=\"17\" font-size=\"12\">\(HTML.escape(name))</text>"
            lx += 16 + name.count * 13 + 20
        }
        for (i, r) in rows.enumerated() {
            let y = top + i * row
            s += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 16)\" text-anchor=\"end\" font-size=\"13\">\(HTML.escape(r.label))</text>"
            var x = labelWidth
            for (j, v) in r.parts.enumerated() where v > 0 {
                let w = max(1, v * room / maxValue)
                s += "<rect x=\"\(x)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"\(row - 8)\" fill=\"\(colors[j % colors.count])\"/>"
                x += w
            }
            s += "<text x=\"\(x + 6)\" y=\"\(y + 16)\" font-size=\"13\">\(r.parts.reduce(0, +))</text>"
        }
        return s + "</svg>"
    }
}

enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
