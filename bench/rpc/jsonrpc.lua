-- wrk -s: every request is the same JSON-RPC 2.0 call, add(40, 2) -> 42 (bench/rpc.mjs checks the answer first).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{"jsonrpc":"2.0","method":"add","params":[40,2],"id":1}]]
