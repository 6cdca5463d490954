#!/bin/sh
# Makes a throw-away test PKI in $1: ca.pem (trusted by the tests),
# server.pem/server.key for 127.0.0.1 signed by it, and other-ca.pem, a CA
# that signed nothing the servers use (to prove verification is on).
set -eu
d=$1
mkdir -p "$d"
cd "$d"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca.key -out ca.pem -days 2 -subj "/CN=gt test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout other-ca.key -out other-ca.pem -days 2 -subj "/CN=gt other CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" > ext.cnf
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
  -CAcreateserial -out server.pem -days 2 -extfile ext.cnf
test -s server.pem
