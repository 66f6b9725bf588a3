from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0002_friendship"),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="ui_language",
            field=models.CharField(blank=True, max_length=8),
        ),
    ]
