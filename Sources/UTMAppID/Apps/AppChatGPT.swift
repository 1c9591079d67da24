import UTMCore

/// ChatGPT / OpenAI.
enum AppChatGPT {
    static let descriptor = AppDescriptor(
        id: .chatgpt, name: "ChatGPT", kind: .service, category: "Web",
        names: ["openai.com", "chatgpt.com", "oaistatic.com", "oaiusercontent.com", "chat.openai.com"])
}
