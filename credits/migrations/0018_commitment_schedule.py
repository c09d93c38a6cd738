"""Commitment schedules, and what links periods into a timeline (constraints that need the
rebuilt timeline come in 0020)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('credits', '0017_build_usage_rollups'),
    ]

    operations = [
        migrations.CreateModel(
            name='CommitmentSchedule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('monthly', 'Monthly'), ('yearly', 'Yearly')], max_length=8)),
                ('anchor_on', models.DateField()),
                ('effective_from', models.DateField()),
                ('source', models.CharField(choices=[('first_purchase', 'First purchase'), ('plan', 'Auto-recharge saved'), ('termination', 'Auto-recharge terminated')], max_length=16)),
                ('recorded_at', models.DateTimeField()),
                ('replaced_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['effective_from', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='commitmentperiod',
            name='follows_on',
            field=models.DateField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='commitmentperiod',
            name='replaced_kind',
            field=models.CharField(blank=True, choices=[('monthly', 'Monthly'), ('yearly', 'Yearly')], max_length=8),
        ),
        migrations.AddField(
            model_name='purchase',
            name='period',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='purchases', to='credits.commitmentperiod'),
        ),
        migrations.AddConstraint(
            model_name='commitmentperiod',
            constraint=models.CheckConstraint(condition=models.Q(('follows_on__isnull', True), ('follows_on', models.F('starts_on')), _connector='OR'), name='period_follows_previous_end'),
        ),
        migrations.AddField(
            model_name='commitmentschedule',
            name='account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='schedules', to='credits.creditaccount'),
        ),
        migrations.AddConstraint(
            model_name='commitmentschedule',
            constraint=models.UniqueConstraint(condition=models.Q(('replaced_at__isnull', True)), fields=('account', 'effective_from'), name='schedule_one_per_day'),
        ),
    ]
