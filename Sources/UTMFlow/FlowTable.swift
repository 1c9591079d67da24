import UTMCore
import UTMDecode
/// Placeholder: filled by the flow work.
public enum FlowPlaceholder {}
