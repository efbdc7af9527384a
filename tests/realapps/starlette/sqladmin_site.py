"""sqladmin's admin (a Starlette app with a StaticFiles mount) mounted at /admin on a
plain Starlette app, over a temp sqlite file."""
import os
import tempfile

os.environ.setdefault("RW_SQLADMIN_DB", os.path.join(tempfile.mkdtemp(prefix="routewall-sqladmin-"), "db.sqlite3"))

from sqlalchemy import ForeignKey, String, create_engine  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from sqladmin import Admin, ModelView  # noqa: E402


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


engine = create_engine("sqlite:///" + os.environ["RW_SQLADMIN_DB"])
Base.metadata.create_all(engine)


async def home(request):
    return PlainTextResponse("home")


app = Starlette(routes=[Route("/", home), Route("/healthz", home)])
admin = Admin(app, engine, session_maker=sessionmaker(bind=engine), base_url="/admin")


class UserAdmin(ModelView, model=User):
    column_list = [User.id, User.name]


class PostAdmin(ModelView, model=Post):
    column_list = [Post.id, Post.title]


admin.add_view(UserAdmin)
admin.add_view(PostAdmin)
