import UTMCore

/// Wikipedia and the Wikimedia projects.
enum AppWikipedia {
    static let descriptor = AppDescriptor(
        id: .wikipedia, name: "Wikipedia", kind: .service, category: "Web",
        names: ["wikipedia.org", "wikimedia.org", "wikidata.org", "wiktionary.org", "wikibooks.org",
                "wikiquote.org", "wikisource.org", "wikinews.org", "wikiversity.org", "mediawiki.org",
                "wikivoyage.org"])
}
