package main

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/operable-go/operable"
	itemsv1 "github.com/operable-go/operable/examples/service/proto/items/v1"
	"github.com/operable-go/operable/secrets"
)

// maxNameBytes bounds an item's name, as POST /items bounds its body.
const maxNameBytes = 1 << 16

// itemsServer is the items API over gRPC (proto/items/v1): the same store
// as the HTTP routes, so an item created on one is read on the other. The
// SDK traces, measures, logs and recovers every call; grpc.health.v1
// answers for "items.v1.ItemsService" as /readyz does.
type itemsServer struct {
	itemsv1.UnimplementedItemsServiceServer
	st  *store
	key secrets.Secret // required on the calls that change items; zero: none
	// drillPanic is the item name whose GetItem panics (DRILL_PANIC_ITEM);
	// "": none.
	drillPanic string
}

// registerGRPC registers the items API on the service's gRPC server, when
// GRPC_ADDR gives it one.
func registerGRPC(s *operable.Service, st *store, cfg *Config) {
	if s.GRPC() == nil {
		return
	}
	itemsv1.RegisterItemsServiceServer(s.GRPC(), &itemsServer{st: st, key: cfg.APIKey, drillPanic: cfg.DrillPanicItem})
}

// authorize requires "authorization: Bearer <key>" metadata when the key
// is set, as requireKey does for HTTP.
func (g *itemsServer) authorize(ctx context.Context) error {
	if g.key.IsZero() {
		return nil
	}
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		if offered, ok := strings.CutPrefix(v, "Bearer "); ok && secrets.New(offered).Equal(g.key) {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "a valid API key is required")
}

// failed answers Unavailable for a database error, logged with the call.
func (g *itemsServer) failed(ctx context.Context, err error) error {
	g.st.log.ErrorContext(ctx, "items database", slog.Any("error", err))
	return status.Error(codes.Unavailable, "the items database is unavailable")
}

// CreateItem implements itemsv1.ItemsServiceServer.
func (g *itemsServer) CreateItem(ctx context.Context, req *itemsv1.CreateItemRequest) (*itemsv1.Item, error) {
	if err := g.authorize(ctx); err != nil {
		return nil, err
	}
	if req.GetName() == "" || len(req.GetName()) > maxNameBytes {
		return nil, status.Errorf(codes.InvalidArgument, "name must be 1 to %d bytes", maxNameBytes)
	}
	it, err := g.st.insert(ctx, req.GetName())
	if errors.Is(err, errFull) {
		return nil, status.Error(codes.ResourceExhausted, "store is full")
	}
	if err != nil {
		return nil, g.failed(ctx, err)
	}
	g.st.audit.record("create", it.ID)
	g.st.created.Add(ctx, 1)
	return &itemsv1.Item{Id: int64(it.ID), Name: it.Name}, nil
}

// GetItem implements itemsv1.ItemsServiceServer.
func (g *itemsServer) GetItem(ctx context.Context, req *itemsv1.GetItemRequest) (*itemsv1.Item, error) {
	out := &itemsv1.Item{Id: req.GetId()}
	err := g.st.db.QueryRowContext(ctx, "SELECT name FROM items WHERE id = $1", req.GetId()).Scan(&out.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, status.Error(codes.NotFound, "no such item")
	}
	if err != nil {
		return nil, g.failed(ctx, err)
	}
	if g.drillPanic != "" && out.Name == g.drillPanic {
		panic("DRILL_PANIC_ITEM: GetItem of " + out.Name)
	}
	return out, nil
}

// ListItems implements itemsv1.ItemsServiceServer.
func (g *itemsServer) ListItems(ctx context.Context, _ *itemsv1.ListItemsRequest) (*itemsv1.ListItemsResponse, error) {
	rows, err := g.st.db.QueryContext(ctx, "SELECT id, name FROM items ORDER BY id")
	if err != nil {
		return nil, g.failed(ctx, err)
	}
	defer rows.Close()
	out := &itemsv1.ListItemsResponse{}
	for rows.Next() {
		it := &itemsv1.Item{}
		if err := rows.Scan(&it.Id, &it.Name); err != nil {
			return nil, g.failed(ctx, err)
		}
		out.Items = append(out.Items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, g.failed(ctx, err)
	}
	return out, nil
}

// DeleteItem implements itemsv1.ItemsServiceServer.
func (g *itemsServer) DeleteItem(ctx context.Context, req *itemsv1.DeleteItemRequest) (*itemsv1.DeleteItemResponse, error) {
	if err := g.authorize(ctx); err != nil {
		return nil, err
	}
	res, err := g.st.db.ExecContext(ctx, "DELETE FROM items WHERE id = $1", req.GetId())
	if err != nil {
		return nil, g.failed(ctx, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, g.failed(ctx, err)
	} else if n == 0 {
		return nil, status.Error(codes.NotFound, "no such item")
	}
	g.st.audit.record("delete", int(req.GetId()))
	return &itemsv1.DeleteItemResponse{}, nil
}
