import UTMCore

/// WeChat.
enum AppWeChat {
    static let descriptor = AppDescriptor(
        id: .wechat, name: "WeChat", kind: .service, category: "Chat",
        names: ["wechat.com", "weixin.qq.com", "wx.qq.com", "weixinbridge.com", "wechatapp.com",
                "servicewechat.com", "wx.gtimg.com", "wxs.qq.com", "wechatpay.com", "qpic.cn",
                "wxapp.tc.qq.com", "dns.weixin.qq.com", "long.weixin.qq.com", "short.weixin.qq.com"])
}
