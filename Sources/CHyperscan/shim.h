// Hyperscan, for the mpm-bench comparison only. The engine never links it.
#include <hs/hs.h>
