#ifndef TOKENOMY_BATCH_H
#define TOKENOMY_BATCH_H
#include "common.h"
#endif
