-- wrk -s: every request is the same XML-RPC call, add(40, 2) -> 42 (bench/rpc.mjs checks the answer first).
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
wrk.body = [[<?xml version="1.0"?><methodCall><methodName>add</methodName><params><param><value><int>40</int></value></param><param><value><int>2</int></value></param></params></methodCall>]]
