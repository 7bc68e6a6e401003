package main

import "github.com/faultline/faultline/cluster"

func init() { cluster.LockMainThread() }
