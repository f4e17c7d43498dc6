from django.urls import path

from surveys import views

app_name = "public_surveys"

urlpatterns = [
    path("<str:token>/", views.answer, name="answer"),
    path("<str:token>/thanks/", views.thanks, name="thanks"),
    path("<str:token>/unsubscribe/", views.unsubscribe, name="unsubscribe"),
]
