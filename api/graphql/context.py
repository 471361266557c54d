"""What every resolver reaches through ``info.context``: the store, this request's loaders, the change hub."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import strawberry
from strawberry.fastapi import BaseContext

from api.config import GraphQLAccess
from api.graphql.loaders import Loaders
from kg.store import Store

if TYPE_CHECKING:
    from api.graphql.subscription import ChangeHub


class Context(BaseContext):
    def __init__(
        self, store: Store, hub: ChangeHub, loaders: Loaders, access: GraphQLAccess, *, token_pending: bool = False
    ) -> None:
        """``token_pending``: a WebSocket that sent no Authorization header must send the token in
        ``connection_init`` (browsers cannot set headers on a WebSocket)."""
        super().__init__()
        self.store = store
        self.hub = hub
        self.loaders = loaders
        self.access = access
        self.token_pending = token_pending


Info: TypeAlias = strawberry.Info[Context, None]
