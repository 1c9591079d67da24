/* libbz2 (Debian libbz2-dev): bzip2 members of zip archives and .bz2 files, for the antivirus. */
#include <bzlib.h>
