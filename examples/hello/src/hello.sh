#!/bin/sh
cat "$GREETING_FILE"
echo "and hello, $1"
