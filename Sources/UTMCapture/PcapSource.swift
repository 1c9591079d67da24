import CPcap
import UTMCore
public enum CapturePlaceholder {}
