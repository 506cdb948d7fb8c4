"""Customer and account endpoints, and the customer search."""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, Parameter

from backend.domain.auth.rules import Role
from backend.domain.customers import service
from backend.domain.customers.models import Customer
from backend.domain.customers.schemas import (
    AccountList,
    AccountOpen,
    AccountOut,
    AccountStatus,
    AccountStatusChange,
    Category,
    CustomerCreate,
    CustomerDetail,
    CustomerKind,
    CustomerList,
    CustomerOut,
    CustomerUpdate,
    PaymentMode,
    SearchAccount,
    SearchResult,
    SearchResults,
    TenancyChange,
    TenancyChanged,
)
from backend.http.deps import CurrentActor, Db, Limit, Offset
from backend.http.problems import problem_responses
from backend.http.security import allow

READ_ROLES = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.BILLING_CLERK,
    Role.CASHIER,
    Role.AUDITOR,
    Role.ENGINEER,
)
WRITE_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.BILLING_CLERK)


def customer_out(c: Customer) -> CustomerOut:
    return CustomerOut(
        id=c.id,
        customer_no=c.customer_no,
        kind=cast(CustomerKind, c.kind),
        name=c.name,
        id_number=c.id_number,
        phone=c.phone,
        phone2=c.phone2,
        email=c.email,
        language=c.language,
        category=cast(Category, c.category),
        postal_address=c.postal_address,
        org_unit_id=c.org_unit_id,
        created_at=c.created_at,
    )


def account_out(view: service.AccountView) -> AccountOut:
    a = view.account
    return AccountOut(
        id=a.id,
        account_no=a.account_no,
        customer_id=a.customer_id,
        customer_no=view.customer.customer_no,
        customer_name=view.customer.name,
        supply_point_id=a.supply_point_id,
        supply_point_code=view.supply_point.code,
        supply_point_address=view.supply_point.address,
        supply_point_town=view.supply_point.town,
        tariff_id=a.tariff_id,
        tariff_code=view.tariff.code,
        payment_mode=cast(PaymentMode, a.payment_mode),
        status=cast(AccountStatus, a.status),
        org_unit_id=a.org_unit_id,
        currency=a.currency,
        fbe_eligible=a.fbe_eligible,
        credit_minor=a.credit_minor,
        debt_minor=a.debt_minor,
        opened_at=a.opened_at,
        closed_at=a.closed_at,
        close_reason=a.close_reason,
        previous_account_id=a.previous_account_id,
        meter_id=view.meter.id if view.meter else None,
        meter_no=view.meter.meter_no if view.meter else None,
    )


def _given(data: msgspec.Struct) -> dict[str, Any]:
    return {
        name: getattr(data, name)
        for name in data.__struct_fields__
        if not isinstance(getattr(data, name), msgspec.UnsetType)
    }


async def _account(db: Db, actor: CurrentActor, account_id: int) -> AccountOut:
    return account_out(await service.get_account(db, actor, account_id))


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @get(
        "/search",
        opt=allow(*READ_ROLES),
        operation_id="searchCustomers",
        summary="Find customers by name, phone, account, meter, customer or ID number (top 20)",
    )
    async def search(
        self,
        db: Db,
        actor: CurrentActor,
        state: State,
        q: Annotated[str, Parameter(min_length=1, max_length=100)],
    ) -> SearchResults:
        hits = await service.search(db, actor, q, country_code=state.settings.default_country_code)
        return SearchResults(
            items=[
                SearchResult(
                    id=hit.customer.id,
                    customer_no=hit.customer.customer_no,
                    name=hit.customer.name,
                    phone=hit.customer.phone,
                    matched=hit.matched,
                    accounts=[
                        SearchAccount(
                            id=v.account.id,
                            account_no=v.account.account_no,
                            status=cast(AccountStatus, v.account.status),
                            supply_point_address=v.supply_point.address,
                            supply_point_town=v.supply_point.town,
                        )
                        for v in hit.accounts
                    ],
                )
                for hit in hits
            ]
        )

    @get("/", opt=allow(*READ_ROLES), operation_id="listCustomers", summary="Customers in your scope")
    async def list_customers(
        self,
        db: Db,
        actor: CurrentActor,
        category: Annotated[Category | None, Parameter()] = None,
        kind: Annotated[CustomerKind | None, Parameter()] = None,
        account_status: Annotated[AccountStatus | None, Parameter()] = None,
        org_unit_id: Annotated[int | None, Parameter(ge=1)] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> CustomerList:
        rows, total = await service.list_customers(
            db,
            actor,
            category=category,
            kind=kind,
            account_status=account_status,
            org_unit_id=org_unit_id,
            limit=limit,
            offset=offset,
        )
        return CustomerList(items=[customer_out(c) for c in rows], total=total)

    @post(
        "/",
        opt=allow(*WRITE_ROLES),
        operation_id="createCustomer",
        summary="Register a customer",
        responses=problem_responses(404, 422),
    )
    async def create_customer(
        self, db: Db, actor: CurrentActor, state: State, data: JSONBody[CustomerCreate]
    ) -> CustomerOut:
        customer = await service.create_customer(
            db,
            actor,
            country_code=state.settings.default_country_code,
            name=data.name,
            kind=data.kind,
            org_unit_id=data.org_unit_id,
            id_number=data.id_number,
            phone=data.phone,
            phone2=data.phone2,
            email=data.email,
            language=data.language,
            category=data.category,
            postal_address=data.postal_address,
        )
        return customer_out(customer)

    @get(
        "/{customer_id:int}",
        opt=allow(*READ_ROLES),
        operation_id="getCustomer",
        summary="A customer with all their accounts",
        responses=problem_responses(404),
    )
    async def get_customer(self, db: Db, actor: CurrentActor, customer_id: FromPath[int]) -> CustomerDetail:
        customer, accounts = await service.get_customer(db, actor, customer_id)
        return CustomerDetail(customer=customer_out(customer), accounts=[account_out(v) for v in accounts])

    @patch(
        "/{customer_id:int}",
        opt=allow(*WRITE_ROLES),
        operation_id="updateCustomer",
        summary="Change a customer's details",
        responses=problem_responses(404, 422),
    )
    async def update_customer(
        self,
        db: Db,
        actor: CurrentActor,
        state: State,
        customer_id: FromPath[int],
        data: JSONBody[CustomerUpdate],
    ) -> CustomerOut:
        customer = await service.update_customer(
            db, actor, customer_id, country_code=state.settings.default_country_code, **_given(data)
        )
        return customer_out(customer)


class AccountController(Controller):
    path = "/api/v1/accounts"
    tags = ["customers"]

    @get("/", opt=allow(*READ_ROLES), operation_id="listAccounts", summary="Accounts in your scope")
    async def list_accounts(
        self,
        db: Db,
        actor: CurrentActor,
        customer_id: Annotated[int | None, Parameter(ge=1)] = None,
        supply_point_id: Annotated[int | None, Parameter(ge=1)] = None,
        status: Annotated[AccountStatus | None, Parameter()] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> AccountList:
        views, total = await service.list_accounts(
            db,
            actor,
            customer_id=customer_id,
            supply_point_id=supply_point_id,
            status=status,
            limit=limit,
            offset=offset,
        )
        return AccountList(items=[account_out(v) for v in views], total=total)

    @post(
        "/",
        opt=allow(*WRITE_ROLES),
        operation_id="openAccount",
        summary="Open an account (status applied) for a customer at a supply point",
        description="409 when the supply point already has an open account; 422 when the tariff does "
        "not exist or is not for this payment mode.",
        responses=problem_responses(404, 409, 422),
    )
    async def open_account(self, db: Db, actor: CurrentActor, data: JSONBody[AccountOpen]) -> AccountOut:
        account = await service.open_account(
            db,
            actor,
            customer_id=data.customer_id,
            supply_point_id=data.supply_point_id,
            tariff_id=data.tariff_id,
            payment_mode=data.payment_mode,
            fbe_eligible=data.fbe_eligible,
        )
        return await _account(db, actor, account.id)

    @get(
        "/{account_id:int}",
        opt=allow(*READ_ROLES),
        operation_id="getAccount",
        summary="One account",
        responses=problem_responses(404),
    )
    async def get_account(self, db: Db, actor: CurrentActor, account_id: FromPath[int]) -> AccountOut:
        return await _account(db, actor, account_id)

    @post(
        "/{account_id:int}/status",
        opt=allow(*WRITE_ROLES),
        operation_id="setAccountStatus",
        status_code=200,
        summary="Activate, suspend or close an account",
        description="409 when the lifecycle does not allow the change (e.g. a closed account); 422 when "
        "closing an account that holds credit without a note.",
        responses=problem_responses(404, 409, 422),
    )
    async def set_status(
        self, db: Db, actor: CurrentActor, account_id: FromPath[int], data: JSONBody[AccountStatusChange]
    ) -> AccountOut:
        await service.set_account_status(
            db, actor, account_id, status=data.status, reason=data.reason, note=data.note
        )
        return await _account(db, actor, account_id)

    @post(
        "/{account_id:int}/change-tenancy",
        opt=allow(*WRITE_ROLES),
        operation_id="changeTenancy",
        status_code=200,
        summary="Close the account and open the next one for a new customer at the same supply point",
        description="The meter stays; the old account keeps its debt and credit (never moved silently).",
        responses=problem_responses(404, 409, 422),
    )
    async def change_tenancy(
        self, db: Db, actor: CurrentActor, account_id: FromPath[int], data: JSONBody[TenancyChange]
    ) -> TenancyChanged:
        old, new = await service.change_tenancy(
            db,
            actor,
            account_id,
            new_customer_id=data.new_customer_id,
            tariff_id=data.tariff_id,
            payment_mode=data.payment_mode,
            fbe_eligible=data.fbe_eligible,
            note=data.note,
        )
        return TenancyChanged(
            closed=await _account(db, actor, old.id), opened=await _account(db, actor, new.id)
        )
