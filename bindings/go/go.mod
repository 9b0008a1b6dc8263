module github.com/tokenomy/tokenomy/bindings/go

go 1.19
