module example.invalid/tokenomy

go 1.19
