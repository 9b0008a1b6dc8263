/* tokenomy: the umbrella header.  Each part also has its own header under
 * tokenomy/, usable alone. */
#ifndef TOKENOMY_H
#define TOKENOMY_H

/* the data model, token counting and the host's model callbacks */
#include "tokenomy/common.h"
#include "tokenomy/conv.h"
#include "tokenomy/tokenizer.h"
#include "tokenomy/llm.h"
/* the parts */
#include "tokenomy/budget.h"
#include "tokenomy/prune.h"
#include "tokenomy/router.h"
#include "tokenomy/schema.h"
#include "tokenomy/prompt.h"
#include "tokenomy/cacheplan.h"
#include "tokenomy/toolsel.h"
#include "tokenomy/usage.h"
#include "tokenomy/prices.h"
#include "tokenomy/meter.h"
#include "tokenomy/toolcache.h"
#include "tokenomy/batch.h"
#include "tokenomy/store.h"
/* the agent turn, which composes them */
#include "tokenomy/agent.h"

#endif /* TOKENOMY_H */
