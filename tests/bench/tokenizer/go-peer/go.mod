module tokenomy.bench/go-peer

go 1.21

require (
	github.com/pkoukk/tiktoken-go v0.1.8
	github.com/tokenomy/tokenomy/bindings/go v0.0.0
)

require (
	github.com/dlclark/regexp2 v1.10.0 // indirect
	github.com/google/uuid v1.3.0 // indirect
)

replace github.com/tokenomy/tokenomy/bindings/go => ../../../../bindings/go
