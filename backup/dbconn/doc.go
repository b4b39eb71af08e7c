// Package dbconn says how to reach MariaDB: Config (host, user, Secret password, TLS, timeouts)
// turns into a driver configuration with MySQLConfig, and a failure to connect is a
// ConnectError. DefaultParallel is the number of connections a dump or restore uses when not
// told.
package dbconn
