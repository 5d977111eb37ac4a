// Package config loads a service's configuration into the service's own
// struct and reports every bad value at once without ever echoing one.
//
// Values come from struct defaults (`envDefault` tags) and then from
// environment variables (`env` tags), parsed by github.com/caarlos0/env/v11.
// Fields of type [secrets.Secret] are filled as secrets. Later work adds the
// file layers, secret references and provenance described in the contract.
package config
