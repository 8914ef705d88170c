"""The blog's tables as typed SQLAlchemy models, one module per part of the blog.

Every relationship is `lazy="raise"`: a page that forgets to load what it shows
fails loudly in tests instead of issuing one query per row in production. Importing
this package registers every table, as Alembic and `Base.metadata.create_all` need.
"""

from components.models.authors import AuthorProfile
from components.models.base import Base, UTCDateTime, stored_enum, utcnow
from components.models.comments import (
    SHOWN_KINDS,
    Comment,
    CommentEvent,
    CommentEventKind,
    CommentKind,
    CommentStatus,
)
from components.models.federation import (
    Follower,
    FollowerState,
    Following,
    FollowingState,
    LocalActor,
    RemoteActor,
    SeenRequest,
)
from components.models.media import Media, MediaVariant
from components.models.outbox import (
    Announcement,
    Delivery,
    DeliveryState,
    Subscriber,
    SubscriberState,
)
from components.models.people import (
    AuthSession,
    LoginFailure,
    PasswordReset,
    RecoveryCode,
    Role,
    User,
)
from components.models.posts import (
    MAX_ADDRESS,
    REPLY_KEY,
    Post,
    PostKind,
    PostStatus,
    Redirect,
    Revision,
    RevisionKind,
    Series,
    Tag,
    is_web_address,
    post_tags,
)
from components.models.previews import PreviewLink
from components.models.search import BODY_SEARCH_DDL, SEARCH_DDL, SEARCH_DROP_DDL, is_modelled
from components.models.site import SiteSettings, SiteState

__all__ = [
    "BODY_SEARCH_DDL",
    "MAX_ADDRESS",
    "REPLY_KEY",
    "SEARCH_DDL",
    "SEARCH_DROP_DDL",
    "SHOWN_KINDS",
    "Announcement",
    "AuthSession",
    "AuthorProfile",
    "Base",
    "Comment",
    "CommentEvent",
    "CommentEventKind",
    "CommentKind",
    "CommentStatus",
    "Delivery",
    "DeliveryState",
    "Follower",
    "FollowerState",
    "Following",
    "FollowingState",
    "LocalActor",
    "LoginFailure",
    "Media",
    "MediaVariant",
    "PasswordReset",
    "Post",
    "PostKind",
    "PostStatus",
    "PreviewLink",
    "RecoveryCode",
    "Redirect",
    "RemoteActor",
    "Revision",
    "RevisionKind",
    "Role",
    "SeenRequest",
    "Series",
    "SiteSettings",
    "SiteState",
    "Subscriber",
    "SubscriberState",
    "Tag",
    "UTCDateTime",
    "User",
    "is_modelled",
    "is_web_address",
    "post_tags",
    "stored_enum",
    "utcnow",
]
