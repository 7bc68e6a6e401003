package main

import "github.com/faultline/faultline/internal/nsutil"

func init() { nsutil.LockMainThread() }
