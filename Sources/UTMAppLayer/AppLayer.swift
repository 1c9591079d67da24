import UTMCore
/// Placeholder: filled by the app-layer work.
public enum AppLayerPlaceholder {}
