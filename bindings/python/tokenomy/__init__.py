"""tokenomy: Python bindings (ctypes) over the tokenomy C library.

Loads the library named by $TOKENOMY_LIBRARY, else the one a wheel bundles
(tokenomy/_lib), else the installed one; `library_path` says which.  The
classes own their C handles (close(), `with`, or the garbage collector frees
them once); strings go in and out as str (UTF-8, explicit lengths); failures
raise a TokenomyError subclass carrying the C status code and the handle's
one-line message.  `tokenomy.lib` is the raw C API (every TKN_API function
with its prototype) and `tokenomy.ffi` its structs and constants, so nothing
of the C API is out of reach.
"""
from . import _ffi as ffi
from ._core import (ERRORS, AuthError, BudgetError, CallbackError, CancelledError, DuplicateError,
                    InvalidError, IOError_, LimitError, NoMemoryError, NotFoundError,
                    OverflowError_, ParseError, Record, SchemaError, SpecialTokenError,
                    StateError, TokenomyError, TooSmallError, UnavailableError,
                    UnsupportedError, Utf8Error, VersionError, error_for, lib, library_path,
                    strerror, version, version_number)
from .conv import (Conversation, Messages, Tokenizer, ToolCall, count_options,
                   encoding_name_for_model)
from .encoding import Encoding, encoding_for_model, get_encoding, list_encoding_names
from .money import (Cost, Meter, ModelPrice, Percentiles, Prices, Stats, Usage, UNITS_PER_USD,
                    format_usd, otel_provider, parse_usd, to_usd, usd)
from .route import (Cascade, Decision, Router, RouterBuilder, RetryStep, Schema, Task,
                    Validation, ValidationError, calibrate, fail_class_name, near_limit,
                    retry_next)
from .context import Budget, BudgetState, PruneLedger, PruneReport, Pruner, Reservation
from .tools import (BatchReader, BatchResult, BatchSummary, BatchWriter, ToolCache,
                    ToolCacheStats)
from .prompt import (CachePlan, CachePlanResult, Finding, Prompt, PromptBuilder, Segment, lint,
                     min_cache_tokens)
from .toolsel import ToolCatalogue
from .store import RedisStore, Store
from .agent import (Agent, AgentResult, AgentStats, LLMRequest, LLMResponse, ModelError,
                    fail_name)
from .compat import completion_cost, completion_cost_exact, token_counter
from .trim import trim_messages
